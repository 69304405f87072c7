import { expect } from 'chai';
import {
  EXCEPTION_STATES,
  FAILURE,
  FULL_RUN_STATES,
  isReady,
  isTaskStatus,
  QUEUED,
  READY_STATES,
  RETRY,
  REVOKED,
  STARTED,
  statusCode,
  statusString,
  SUCCESS,
  UNREADY_STATES,
} from '../../src/model/states.js';

describe('task states', () => {
  it('uses the exact codes of pulsar', () => {
    expect({ SUCCESS, FAILURE, REVOKED, RETRY, STARTED, QUEUED }).to.deep.equal({
      SUCCESS: 1,
      FAILURE: 2,
      REVOKED: 3,
      RETRY: 4,
      STARTED: 5,
      QUEUED: 6,
    });
  });

  it('counts SUCCESS and FAILURE as full runs', () => {
    expect([...FULL_RUN_STATES]).to.have.members([SUCCESS, FAILURE]);
  });

  it('counts SUCCESS, FAILURE and REVOKED as ready', () => {
    expect([...READY_STATES]).to.have.members([SUCCESS, FAILURE, REVOKED]);
  });

  it('counts FAILURE and REVOKED as exceptions', () => {
    expect([...EXCEPTION_STATES]).to.have.members([FAILURE, REVOKED]);
  });

  it('counts QUEUED, STARTED and RETRY as unready', () => {
    expect([...UNREADY_STATES]).to.have.members([QUEUED, STARTED, RETRY]);
  });

  it('puts every state in exactly one of READY and UNREADY', () => {
    for (const code of [SUCCESS, FAILURE, REVOKED, RETRY, STARTED, QUEUED] as const) {
      expect(READY_STATES.has(code), `state ${code}`).to.not.equal(UNREADY_STATES.has(code));
      expect(isReady(code)).to.equal(READY_STATES.has(code));
    }
  });

  it('names each code in upper case', () => {
    expect([1, 2, 3, 4, 5, 6].map(statusString)).to.deep.equal([
      'SUCCESS',
      'FAILURE',
      'REVOKED',
      'RETRY',
      'STARTED',
      'QUEUED',
    ]);
  });

  it("names anything else 'UNKNOWN'", () => {
    for (const code of [0, 7, -1, 1.5, '1', null, undefined, NaN]) {
      expect(statusString(code), String(code)).to.equal('UNKNOWN');
    }
  });

  it('tells state codes from other values', () => {
    expect(isTaskStatus(QUEUED)).to.equal(true);
    expect(isTaskStatus(0)).to.equal(false);
    expect(isTaskStatus('6')).to.equal(false);
    expect(isTaskStatus('toString')).to.equal(false);
  });

  it('finds the code of a name in any case', () => {
    expect(statusCode('SUCCESS')).to.equal(SUCCESS);
    expect(statusCode('revoked')).to.equal(REVOKED);
    expect(statusCode('UNKNOWN')).to.equal(undefined);
  });
});

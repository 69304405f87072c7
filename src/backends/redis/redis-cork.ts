/**
 * Holding a connection's writes until the end of a tick: the commands of one stretch of
 * synchronous code (a worker's batched writes and its next pull, a producer's queue chunks) leave
 * in one socket write instead of one each. Not for a cluster (no one socket: nothing is held).
 */
import { socketOf } from './redis-cluster.js';

export class TurnCork {
  private corked = false;

  /** `conn`: the connection whose socket is held (read at each hold: it changes on reconnection). */
  constructor(private readonly conn: () => object) {}

  /** Holds the socket's writes until the end of this tick (once per tick). */
  hold(): void {
    if (this.corked) return;
    const socket = socketOf(this.conn());
    if (!socket) return;
    socket.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  /**
   * Sends what this tick's hold keeps now; the rest of the tick stays held. A producer's large
   * queue sends each chunk so, once encoded: Redis stores it while the producer encodes the next.
   */
  sendNow(): void {
    if (!this.corked) return;
    const socket = socketOf(this.conn());
    if (!socket) return;
    socket.uncork();
    socket.cork();
  }
}

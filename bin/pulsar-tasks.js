#!/usr/bin/env node
// The `pulsar-tasks` command: registers tsx so the TypeScript sources run as they are (from the
// repository or an install; tsx is a runtime dependency), then hands over to src/cli.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');

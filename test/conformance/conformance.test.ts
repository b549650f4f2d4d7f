/**
 * The conformance suite (issue 5, docs/conformance.md): everything runs in sequence in this one file against
 * real servers, and the last test prints the coverage line and fails on missing coverage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conformance, EventRecorder, Target } from './harness.js';
import { startChild, startCliMode, startFault, startMain, startToken, type Started } from './servers.js';
import { projectsAndTasks, protocolCases, sessionsAndLinks, skillsAndTemplates, spawnAndQueue } from './scenarios.js';
import { cliSpawnFailure, injectedFaults, unauthorized, writeFailures } from './faults.js';
import type { Ctx } from './steps.js';
import { Fuzzer, fuzzSeed } from './fuzz.js';
import { modelTest } from './model.js';
import { exampleProblems, replayExamples } from './examples.js';
import { oracleSelfCheck } from './oracle-self-check.js';
import { spawnCliMode, spawnServerMode, startFakeCliMode } from './spawn-modes.js';
import { cliQueueRequests } from './cli-requests.js';
import { staticRoutes } from './static-routes.js';

const c = new Conformance();
let main: Started;
let ctx: Ctx;
const others: Started[] = [];

beforeAll(async () => {
  main = await startMain();
  const t = new Target('main', main.server.port);
  const rec = await EventRecorder.open(main.server.port, c.spec, c.coverage);
  ctx = { c, t, rec, main };
});

afterAll(async () => {
  ctx?.rec.close();
  ctx?.t.close();
  await main?.close();
  for (const s of others) await s.close();
  c.oracle.close();
});

describe('conformance: the second oracle (express-openapi-validator in front of every server) is live', () => {
  it('it flags bad responses (5xx included) and bad requests, and forwards requests and answers byte for byte', async () => {
    expect(await oracleSelfCheck()).toEqual([]);
  }, 60_000);
});

describe('conformance: scenarios (every documented status, exact events)', () => {
  it('projects and tasks', () => projectsAndTasks(ctx));
  it('sessions and associations', () => sessionsAndLinks(ctx));
  it('spawn and queue', () => spawnAndQueue(ctx));
  it('skills, templates, health', () => skillsAndTemplates(ctx));
  it('protocol cases: 403 Host guard, 415, 413 on every operation', () => protocolCases(ctx), 60_000);
});

describe('conformance: static file routes (x-static: /docs, /ui; docs/behaviour.md §14.3)', () => {
  it('every documented status of every static route: status, Content-Type, error bodies', async () => {
    const n = await staticRoutes(c, main.server.port);
    expect(n).toBe(c.spec.staticOperations.reduce((sum, op) => sum + op.responses.size, 0));
    expect(n).toBeGreaterThan(0);
  });
});

describe('conformance: requests the maestro CLI v0.1.0 sends (docs/behaviour.md §14.5)', () => {
  it('queue start, complete and skip with the CLI\'s {} body (and with no body, an empty JSON body, extra keys)', () => cliQueueRequests(ctx));
});

describe('conformance: spawn in both manifest modes (docs/behaviour.md §8.5), events checked against the AsyncAPI catalogue', () => {
  it('server mode (MANIFEST_GENERATOR=server)', () => spawnServerMode(ctx));
  it('cli mode (MANIFEST_GENERATOR=cli, fake maestro CLI): with tasks, without tasks, an older single-task manifest', async () => {
    const s = await startFakeCliMode();
    others.push(s);
    await spawnCliMode(c, s);
  });
});

describe('conformance: examples', () => {
  it('every request and response example validates against its schema', () => {
    expect(exampleProblems(ctx)).toEqual([]);
  });
  it('every request example is replayed against the server and succeeds', async () => {
    const n = await replayExamples(ctx);
    expect(n).toBe(c.spec.operations.reduce((sum, op) => sum + op.requestExamples.length, 0));
  });
});

describe('conformance: 401 and 500', () => {
  it('token mode: 401 on every protected operation', async () => {
    const secret = 'conformance-secret-token';
    const s = await startToken(secret);
    others.push(s);
    await unauthorized(c, s, secret);
  });
  it('real write failures: 500 and rollback, no events', () => writeFailures(ctx));
  it('injected handler faults: 500 INTERNAL_ERROR on every operation', async () => {
    const s = await startFault();
    others.push(s);
    await injectedFaults(c, s);
  });
  it('cli mode with a missing executable: 500 manifest_generation_failed', async () => {
    const s = await startCliMode();
    others.push(s);
    await cliSpawnFailure(c, s);
  });
});

const FUZZ_RUNS = 100;
describe(`conformance: fuzzing (FUZZ_SEED=${fuzzSeed()}, ${FUZZ_RUNS} valid + ${FUZZ_RUNS} invalid per operation)`, () => {
  let fuzzer: Fuzzer;
  beforeAll(() => {
    console.log(`fuzz seed: FUZZ_SEED=${fuzzSeed()} (replay with FUZZ_SEED=${fuzzSeed()} npm test)`);
    fuzzer = new Fuzzer(ctx);
  });
  c.spec.operations.forEach((op, index) => {
    it(`${op.operationId} (${op.method} ${op.path})`, async () => {
      await fuzzer.fuzz(op, index, FUZZ_RUNS);
      const n = fuzzer.counts.get(op.operationId);
      expect(n?.valid).toBeGreaterThanOrEqual(FUZZ_RUNS);
      expect(n?.invalid).toBeGreaterThanOrEqual(FUZZ_RUNS);
      expect(n?.accepted, 'at least one generated valid request is accepted').toBeGreaterThanOrEqual(1);
    }, 60_000);
  });
});

describe('conformance: stateful model (projects, tasks, sessions, links, queues, deletes; concurrent steps)', () => {
  it('the server agrees with the model after every step; invariants hold', () => modelTest(c, fuzzSeed() + 100_000, 100), 150_000);
});

describe('conformance: smoke pass against `tsx src/main.ts` (npm start) as a child process', () => {
  it('scenarios pass against the child; SIGTERM exits 0', async () => {
    const child = await startChild();
    const t = new Target('child', child.port);
    let rec: EventRecorder | undefined;
    try {
      rec = await EventRecorder.open(child.port, c.spec, c.coverage);
      const childCtx: Ctx = { c, t, rec, main };
      await projectsAndTasks(childCtx);
      await sessionsAndLinks(childCtx);
      await spawnAndQueue(childCtx);
      await skillsAndTemplates(childCtx);
    } finally {
      rec?.close();
      t.close();
      const { code } = await child.close();
      expect(code, child.output()).toBe(0);
    }
  }, 60_000);
});

describe('conformance: second oracle (express-openapi-validator)', () => {
  it('every response the suite received was validated and conforms; every request it sent as valid was accepted', () => {
    const o = c.oracle;
    console.log(o.summary());
    console.log(`  of the expected rejections, ${o.agreedInvalid} are requests the suite's own Ajv also calls invalid against the spec (both oracles agree; ${o.missedRejections} missed)`);
    // Hits depend on the seed (the fuzzer picks `spawn` as an unknown id only sometimes), so an entry that did
    // not match is reported for review rather than failed.
    for (const a of o.allowances) console.log(`  allowed disagreement ${a.id}: ${o.allowedHits.get(a.id) ?? 0} requests${o.allowedHits.has(a.id) ? '' : ' (none in this run: is the entry still needed?)'}`);
    const accepted = [...o.acceptedButExpected4xx.entries()].sort((x, y) => y[1] - x[1]);
    console.log(`  expected 4xx that the oracle accepted (not a spec matter: state, Host guard, token, size, …): ${accepted.reduce((n, [, k]) => n + k, 0)}; ${accepted.map(([l, k]) => `${l} ×${k}`).join('; ')}`);
    expect(o.failures, `the second oracle disagrees:\n${o.failures.join('\n')}`).toEqual([]);
    expect(o.received, 'responses the suite received = requests it sent').toBe(c.requests);
    expect(o.responsesValidated, 'every response the suite received was validated by express-openapi-validator').toBe(o.received);
    expect(o.requests, 'every exchange the proxy saw was judged').toBe(o.received);
  });
});

describe('conformance: coverage', () => {
  it('prints the coverage line; every operation and event exercised, ≥ 95 % of response pairs', () => {
    const s = c.coverage.summary();
    console.log(s.line);
    if (s.missingPairs.length > 0) console.log(`not exercised: ${s.missingPairs.join(', ')}`);
    expect(s.excludedButHit, 'excluded pairs that the suite does exercise (remove them from exclusions.yaml)').toEqual([]);
    expect(s.missingOperations).toEqual([]);
    expect(s.missingEvents).toEqual([]);
    expect(s.pairRatio).toBeGreaterThanOrEqual(0.95);
  });
});

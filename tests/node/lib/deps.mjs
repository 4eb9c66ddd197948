// deps.mjs: what a test does when something it needs is not on the machine.
//
// On a developer machine a missing dependency (redis-server, the zstd CLI, a helper binary
// the build did not make) skips the test with the reason. Under CI (CI=true) it is a
// failure: CI installs everything through `scripts/setup.sh --test`, so a skip there means
// the claim the test makes went unchecked while the suite still said "Passed".
//
//   test('...', { skip: needs(haveRedis, 'redis-server') }, async () => { ... });
//   if (!z) return skipOrFail(t, 'zstd CLI missing');      // inside a test body
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** True when the suite runs under CI, where every skip for a missing dependency fails. */
export const CI_STRICT = process.env.CI === 'true';

/** True when every named program is on PATH. */
export function havePrograms(...names) {
  return names.every((n) => spawnSync('sh', ['-c', `command -v ${n}`], { stdio: 'ignore' }).status === 0);
}

/**
 * For a test's `skip` option. Returns false when present; otherwise a skip reason, and
 * under CI also registers a failing test that names the missing dependency (the skipped
 * test itself could not run without it).
 */
const reported = new Set();
export function needs(present, what) {
  if (present) return false;
  const why = `${what} missing`;
  if (CI_STRICT && !reported.has(what) && reported.add(what))
    test(`dependency: ${what}`, () => assert.fail(`${why} under CI=true (scripts/setup.sh --test installs it)`));
  return why;
}

/** Inside a test body: skips with the reason, or fails under CI. */
export function skipOrFail(t, why) {
  if (CI_STRICT) assert.fail(`${why} under CI=true (scripts/setup.sh --test installs it)`);
  t.skip(why);
}

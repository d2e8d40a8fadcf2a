// The man page swarmd.1 is generated from the settings table (scripts/man.ts) and committed:
// it must be current, name every key and option, and be what package.json's `man` installs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MAN_FILE, renderMan } from '../scripts/man.ts';
import { SETTINGS, UNSUPPORTED } from '../src/config/config-file.ts';
import { EXIT_STATUS, SWITCHES } from '../src/config/command-line.ts';

const page = readFileSync(MAN_FILE, 'utf8');
const roff = (s: string) => s.replace(/-/g, '\\-');

test('swarmd.1 is what scripts/man.ts writes now (run `npm run man` after changing a setting)', () => {
  assert.equal(page, renderMan());
});

test('it names every switch, config key, long option, unsupported option and exit code', () => {
  for (const s of SETTINGS) {
    assert.ok(page.includes(`\\fB${roff(s.key)}\\fR`), s.key);
    assert.ok(page.includes(roff(s.long)), `--${s.long}`);
  }
  for (const s of SWITCHES) assert.ok(page.includes(`\\fB\\-\\-${roff(s.long)}\\fR`), `--${s.long}`);
  for (const u of UNSUPPORTED) assert.ok(page.includes(`\\fB\\-\\-${roff(u.long)}\\fR`), `--${u.long}`);
  for (const [code] of EXIT_STATUS) assert.match(page, new RegExp(`^\\.TP\\n\\\\fB${code}\\\\fR$`, 'm'), `exit ${code}`);
  assert.doesNotMatch(page, /cores here|RAM here/, 'no default of the machine it was generated on');
});

test("package.json's man field installs it", () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.deepEqual(pkg.man, ['./swarmd.1']);
  assert.ok(pkg.files.includes('swarmd.1'));
});

/**
 * The README's table of `createPool` options against the validator, both
 * ways, so the two cannot drift: every option the table names is one the
 * validator takes (it once listed `supervision.breakers`, which the code
 * refuses: the option is `circuitBreaker`), and every option the validator
 * takes is in the table. The validator's own "a known option (...)" message
 * is the source of its side.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { InvalidOptionError } from '../../src/api/errors.js';
import { resolvePoolOptions } from '../../src/config/validate.js';

const README = new URL('../../../README.md', import.meta.url);
const PROBE = 'zzProbe';

/**
 * The options the validator knows at `path` ('' for the top level), from its
 * message about an unknown one; undefined where it does not check names
 * (`retry` today), which leaves that group unchecked here.
 */
function known(path: string): string[] | undefined {
  const probe: Record<string, unknown> = { [PROBE]: 1 };
  const options: Record<string, unknown> = path === '' ? { module: 'file:///tasks.js', ...probe } : { module: 'file:///tasks.js', [path]: probe };
  try {
    resolvePoolOptions(options as never);
  } catch (err) {
    assert.ok(err instanceof InvalidOptionError, String(err));
    const m = /a known option \(([^)]*)\)/.exec(err.message);
    assert.ok(m !== null, `the validator names the known options at "${path}": ${err.message}`);
    return (m[1] as string).split(', ');
  }
  assert.notEqual(path, '', 'the validator refuses an unknown top-level option');
  return undefined;
}

interface Row {
  names: string[];
  /** `{ a, b, c }` in the meaning column: the option's own options. */
  sub: string[];
}

function readmeRows(): Row[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('### Options of `createPool`');
  assert.ok(start !== -1, 'the README has its options table');
  const section = text.slice(start, text.indexOf('\n### ', start + 1));
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const names = [...(cells[1] as string).matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    const braces = /`\{ ([A-Za-z]+(?:, [A-Za-z]+)*) \}`/.exec(cells[3] ?? '');
    rows.push({ names, sub: braces === null ? [] : (braces[1] as string).split(', ') });
  }
  assert.ok(rows.length > 10, `the table has its rows (${rows.length})`);
  return rows;
}

test('every option the README table names is one the validator takes', () => {
  const top = known('') as string[];
  for (const row of readmeRows()) {
    for (const name of row.names) {
      const [head, rest] = name.split('.') as [string, string | undefined];
      assert.ok(top.includes(head), `README names \`${name}\`; the options are: ${top.join(', ')}`);
      if (rest === undefined && row.sub.length === 0) continue;
      const subs = known(head);
      if (subs === undefined) continue;
      if (rest !== undefined) assert.ok(subs.includes(rest), `README names \`${name}\`; ${head}'s options are: ${subs.join(', ')}`);
      for (const sub of row.sub) assert.ok(subs.includes(sub), `README lists \`${head}.${sub}\`; ${head}'s options are: ${subs.join(', ')}`);
    }
  }
});

test('every option the validator takes is in the README table', () => {
  const rows = readmeRows();
  const named = new Set(rows.flatMap((r) => r.names.map((n) => n.split('.')[0] as string)));
  // `tasks` is kind 'async''s `module`: the module row says so.
  const documentedElsewhere = new Set(['tasks']);
  for (const option of known('') as string[]) {
    if (!documentedElsewhere.has(option)) assert.ok(named.has(option), `the validator takes \`${option}\`; the README table does not name it`);
  }
  // Options whose own options the table lists (dotted names or a { ... } list): all of them.
  for (const head of new Set(rows.flatMap((r) => r.names.filter((n) => n.includes('.') || r.sub.length > 0).map((n) => n.split('.')[0] as string)))) {
    const listed = new Set([...rows.flatMap((r) => r.names.filter((n) => n.startsWith(`${head}.`)).map((n) => n.slice(head.length + 1))), ...rows.filter((r) => r.names.includes(head)).flatMap((r) => r.sub)]);
    for (const sub of known(head) ?? []) assert.ok(listed.has(sub), `the validator takes \`${head}.${sub}\`; the README table does not list it`);
  }
});

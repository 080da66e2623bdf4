// The parent side of the crash-catching properties: bundles child.ts with
// lib/ (esbuild, once per test file), runs batches of cases in child
// processes, and turns each case's outcome into pass or fail. A child that
// dies from a signal or an exit, or says nothing for CASE_TIMEOUT_MS, fails
// the case it was running (a crash or a hang); the cases after it run in a
// fresh child. Failing inputs are kept under os.tmpdir()/germ-fuzz-failures.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import fc from 'fast-check';
import { expect } from 'vitest';
import { native, nativePath } from '../../lib/native';
import type { ChildCase, ChildOutcome } from './child';
import { FUZZ_SEED } from './helpers';

export type { ChildCase, ChildOutcome } from './child';

/** A case that has not reported in this long is a hang. */
export const CASE_TIMEOUT_MS = Number(process.env.GERM_FUZZ_CASE_TIMEOUT_MS ?? 5_000);
/** A property stops after this many dead children (each hang costs CASE_TIMEOUT_MS): it has failed already. */
const MAX_DEATHS = 8;
const BATCH = 200;
const ROOT = path.resolve(__dirname, '../..');

let bundled: { file: string; nativeFile: string } | undefined;

/** child.ts + lib/ as one CommonJS file; the child loads the addon this process loaded (GERM_NATIVE_PATH). */
export function childBundle(): { file: string; nativeFile: string } {
  if (bundled) return bundled;
  native();
  const nativeFile = nativePath();
  if (!nativeFile) throw new Error('the native addon did not load');
  const dir = mkdtempSync(path.join(tmpdir(), 'germ-fuzz-child-'));
  const file = path.join(dir, 'child.js');
  buildSync({
    entryPoints: [path.join(ROOT, 'test/property/child.ts')], bundle: true, platform: 'node', format: 'cjs',
    target: 'node20', outfile: file, external: ['node-gyp-build', 'esbuild', 'vitest'], logLevel: 'error',
  });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  bundled = { file, nativeFile };
  return bundled;
}

/** What happened to one case: the child's report, or how the child died on it. */
export interface CaseResult {
  id: number;
  outcome?: ChildOutcome;
  /** 'signal SIGSEGV', 'exit 134', 'no report (hang > 15000 ms)' ... with the child's stderr tail. */
  died?: string;
}

function runChild(cases: ChildCase[], dir: string): Promise<{ results: CaseResult[]; rest: ChildCase[] }> {
  const { file, nativeFile } = childBundle();
  const list = path.join(dir, `cases-${cases[0].id}.json`);
  writeFileSync(list, JSON.stringify(cases));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=2048', '--stack-size=2000', file, list], {
      env: { ...process.env, GERM_NATIVE_PATH: nativeFile }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results: CaseResult[] = [];
    let current: number | undefined, buf = '', stderr = '', hung = false;
    let timer = setTimeout(onHang, CASE_TIMEOUT_MS);
    function onHang(): void {
      hung = true;
      child.kill('SIGKILL');
    }
    child.stdout.on('data', (chunk: Buffer) => {
      clearTimeout(timer);
      timer = setTimeout(onHang, CASE_TIMEOUT_MS);
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as { start?: number } & ChildOutcome;
        buf = buf.slice(nl + 1);
        if (line.start !== undefined) current = line.start;
        else {
          results.push({ id: line.id, outcome: line });
          current = undefined;
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const done = new Set(results.map((r) => r.id));
      if (current !== undefined || (code !== 0 && results.length < cases.length)) {
        const id = current ?? cases.find((c) => !done.has(c.id))!.id;
        const how = hung ? `no report (hang > ${CASE_TIMEOUT_MS} ms)` : signal ? `signal ${signal}` : `exit ${code}`;
        results.push({ id, died: `${how}; stderr: ${stderr.trim().slice(-600)}` });
        done.add(id);
      }
      resolve({ results, rest: cases.filter((c) => !done.has(c.id)) });
    });
  });
}

/** Runs the cases in child processes, `parallel` at a time; every case gets a result. */
export async function runInChildren(cases: ChildCase[], dir: string, parallel = Math.max(1, Math.min(4, availableParallelism()))):
  Promise<CaseResult[]> {
  const per = Math.ceil(cases.length / parallel);
  const lanes = Array.from({ length: parallel }, (_, i) => cases.slice(i * per, (i + 1) * per)).filter((l) => l.length);
  const out: CaseResult[] = [];
  await Promise.all(lanes.map(async (lane) => {
    let todo = lane;
    while (todo.length) {
      const { results, rest } = await runChild(todo, dir);
      out.push(...results);
      todo = rest;
    }
  }));
  return out.sort((a, b) => a.id - b.id);
}

/** The GermError codes lib/errors.ts defines. */
const CODES = new Set(['ERR_INVALID_ARGUMENT', 'ERR_SHAPE', 'ERR_DTYPE', 'ERR_DEVICE', 'ERR_OUT_OF_MEMORY', 'ERR_CUDA',
  'ERR_DISPOSED', 'ERR_INTERNAL', 'ERR_NO_BINARY', 'ERR_BUILD', 'ERR_FORMAT']);

/** The base property: the child survived and the outcome is a result or a GermError with a known code. */
export function resultOrGermError(r: CaseResult): string | undefined {
  if (r.died) return `the child process died: ${r.died}`;
  const o = r.outcome!;
  if (o.ok) return undefined;
  if (!o.germ) return `threw ${o.name}, not a GermError: ${o.message}`;
  if (!o.code || !CODES.has(o.code)) return `GermError without a known code (${String(o.code)}): ${o.message}`;
  return undefined;
}

export interface ChildProperty<T> {
  arb: fc.Arbitrary<T>;
  runs: number;
  /** Writes the case's input under dir (a fresh folder per case) and says what the child does with it. */
  materialise(value: T, dir: string): Omit<ChildCase, 'id'>;
  /** An outcome other than a result or a GermError that the documented contract allows for this case. */
  allow?(value: T, outcome: ChildOutcome): boolean;
  /** Extra checks on top of resultOrGermError: a message when the outcome breaks the property. */
  check?(value: T, outcome: ChildOutcome): string | undefined;
}

const FAILURES = path.join(tmpdir(), 'germ-fuzz-failures');

/**
 * Samples `runs` cases with fast-check from GERM_FUZZ_SEED (case i is the one
 * fc.assert would try at path "i"), runs them in batches in child processes,
 * and fails listing every broken case: its index, value, and what happened.
 * Inputs of failing cases are copied to os.tmpdir()/germ-fuzz-failures/<name>/<i>.
 */
export async function checkInChildren<T>(name: string, prop: ChildProperty<T>): Promise<void> {
  const values = fc.sample(prop.arb, { seed: FUZZ_SEED, numRuns: prop.runs });
  // Failures grouped by kind (the message with numbers and quoted text blanked): a count and the first case of each.
  const kinds = new Map<string, { count: number; first: string }>();
  let failed = 0, deaths = 0, ran = 0;
  for (let b = 0; b < values.length && deaths < MAX_DEATHS; b += BATCH) {
    const dir = mkdtempSync(path.join(tmpdir(), 'germ-fuzz-'));
    try {
      const cases = values.slice(b, b + BATCH).map((v, j) => {
        const caseDir = path.join(dir, String(b + j));
        mkdirSync(caseDir);
        return { id: b + j, ...prop.materialise(v, caseDir) };
      });
      for (const r of await runInChildren(cases, dir)) {
        ran++;
        if (r.died) deaths++;
        const allowed = r.outcome && prop.allow?.(values[r.id], r.outcome);
        const problem = allowed ? undefined : resultOrGermError(r) ?? (r.outcome && prop.check?.(values[r.id], r.outcome));
        if (!problem) continue;
        failed++;
        const kind = problem.replace(/'[^']*'|"[^"]*"/g, '…').replace(/\d+(\.\d+)?(e[+-]?\d+)?/g, 'N').slice(0, 160);
        const seen = kinds.get(kind);
        if (seen) {
          seen.count++;
          continue;
        }
        const keep = path.join(FAILURES, name.replace(/[^\w.-]+/g, '_'), String(r.id));
        try {
          rmSync(keep, { recursive: true, force: true });
          cpSync(path.join(dir, String(r.id)), keep, { recursive: true });
        } catch {
          // a FIFO or an odd file: the case value below still describes it
        }
        kinds.set(kind, { count: 1, first: `case ${r.id} (path "${r.id}"): ${fc.stringify(values[r.id])}\n    -> ${problem}\n    input kept in ${keep}` });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (failed) {
    const stopped = ran < values.length ? ` (stopped after ${deaths} crashes / hangs, ${ran} of ${values.length} cases run)` : '';
    const list = [...kinds.values()].slice(0, 16).map((k) => `[${k.count} case${k.count > 1 ? 's' : ''} like] ${k.first}`);
    expect.fail(`${name}: ${failed} of ${ran} cases broke the property${stopped}, GERM_FUZZ_SEED=${FUZZ_SEED}, ` +
      `${kinds.size} kinds of failure:\n  ${list.join('\n  ')}`);
  }
}

// ---- arguments that JSON cannot carry, encoded for child.ts's decode

export type Arg = { $: string; [k: string]: unknown } | number | string | boolean | null | Arg[];

export function encodeArg(v: unknown): Arg {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { $: 'NaN' };
    if (v === Infinity) return { $: 'Inf' };
    if (v === -Infinity) return { $: '-Inf' };
    if (Object.is(v, -0)) return { $: '-0' };
    return v;
  }
  if (v === undefined) return { $: 'undefined' };
  if (typeof v === 'bigint') return { $: 'bigint', v: v.toString() };
  if (typeof v === 'symbol') return { $: 'symbol' };
  if (typeof v === 'function') return { $: 'function' };
  if (Array.isArray(v)) return v.map(encodeArg);
  if (v instanceof Float32Array) return { $: 'f32', v: Array.from(v, encodeArg) };
  if (v instanceof Float64Array) return { $: 'f64', v: Array.from(v, encodeArg) };
  if (v instanceof Int32Array) return { $: 'i32', v: Array.from(v) };
  if (v instanceof Uint8Array) return { $: 'u8', v: Array.from(v) };
  if (v instanceof Uint16Array) return { $: 'u16', v: Array.from(v) };
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.$ === 'tensor') return o as Arg;
    return { $: 'obj', entries: Object.keys(o).map((k) => [k, encodeArg(o[k])]) };
  }
  return v as Arg;
}

/** A tensor made in the child: f32 data of the shape, cast to dtype. */
export const tensorArg = (shape: number[], dtype = 'f32', fill = 0.5): Arg =>
  ({ $: 'tensor', shape, dtype, data: Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });

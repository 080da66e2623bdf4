// `germ embed | classify | info` run in process through main(), on a tiny
// random model folder, and checked against GermModel called directly.
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GermModel } from '../lib/model/germ_model';
import type { Classification } from '../lib/model/types';
import { germ } from './helpers/cli';
import { tempFiles } from './helpers/files';
import { type TinyModel, createTinyModel, randomDna } from './helpers/tiny_model';

const version = (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
const { dir, file } = tempFiles('germ-cli-');
let tiny: TinyModel;
let reference: GermModel;

const RECORDS = Array.from({ length: 5 }, (_, i) => ({ id: `seq${i + 1}`, sequence: randomDna(20 + 17 * i, 100 + i) }));
const LABELS = ['0', '1', '1', '0', '1'];

function fasta(records = RECORDS): string {
  // 30 bases per line, so longer records span several lines.
  return records.map((r) => `>${r.id} test record\n${r.sequence.match(/.{1,30}/g)!.join('\n')}\n`).join('');
}

function expectClose(actual: number[], expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i], 5);
}

function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

beforeAll(async () => {
  const modelDir = path.join(dir, 'model');
  mkdirSync(modelDir);
  tiny = await createTinyModel({ dir: modelDir, labels: ['0', '1'] });
  reference = await GermModel.load(tiny.dir, { device: 'cpu' });
});

afterAll(() => reference?.dispose());

describe('germ embed', () => {
  it('writes one TSV line per FASTA record, in order: id, then the mean embedding', async () => {
    const input = file('in.fa', fasta());
    const { code, stdout, stderr } = await germ(['embed', tiny.dir, input, '--device', 'cpu', '--batch-size', '2']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(lines.map((l) => l[0])).toEqual(RECORDS.map((r) => r.id));
    const want = await reference.embed(RECORDS.map((r) => r.sequence));
    lines.forEach((l, i) => expectClose(l.slice(1).map(Number), want[i].mean));
    expect(lines[0]).toHaveLength(1 + tiny.hidden);
  });

  it('writes JSON Lines of the [CLS] embedding from a CSV with an id column', async () => {
    const csv = 'id,sequence\n' + RECORDS.map((r) => `"${r.id}, quoted",${r.sequence}`).join('\n') + '\n';
    const { code, stdout } = await germ(['embed', tiny.dir, file('in.csv', csv), '--device', 'cpu', '--json', '--pooling', 'cls']);
    expect(code).toBe(0);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; embedding: number[] });
    expect(rows.map((r) => r.id)).toEqual(RECORDS.map((r) => `${r.id}, quoted`));
    const want = await reference.embed(RECORDS.map((r) => r.sequence));
    rows.forEach((r, i) => expectClose(r.embedding, want[i].cls));
  });

  it('reads .fa.gz, and FASTA from stdin with -, with the same result', async () => {
    const args = ['--device', 'cpu', '--batch-size', '3'];
    const plain = await germ(['embed', tiny.dir, file('same.fa', fasta()), ...args]);
    const gz = await germ(['embed', tiny.dir, file('same.fa.gz', gzipSync(fasta())), ...args]);
    const stdin = await germ(['embed', tiny.dir, '-', ...args], Readable.from([Buffer.from(fasta())]));
    expect(plain.code).toBe(0);
    expect(gz).toEqual(plain);
    expect(stdin).toEqual(plain);
  });

  it('writes --output to a file, leaving no temporary file behind', async () => {
    const input = file('out.fa', fasta());
    const out = path.join(dir, 'emb.tsv');
    const toFile = await germ(['embed', tiny.dir, input, '--device', 'cpu', '--output', out]);
    expect(toFile).toEqual({ code: 0, stdout: '', stderr: '' });
    const toStdout = await germ(['embed', tiny.dir, input, '--device', 'cpu']);
    expect(readFileSync(out, 'utf8')).toBe(toStdout.stdout);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('truncates with --max-length', async () => {
    const long = [{ id: 'long', sequence: randomDna(600, 7) }];
    const { code, stdout } = await germ(['embed', tiny.dir, file('long.fa', fasta(long)), '--device', 'cpu', '--max-length', '8']);
    expect(code).toBe(0);
    const [want] = await reference.embed([long[0].sequence], { maxLength: 8 });
    expect(want.ids.length).toBeLessThanOrEqual(8);
    expectClose(stdout.trimEnd().split('\t').slice(1).map(Number), want.mean);
  });

  it('shows progress on stderr with --progress, leaving stdout as it was', async () => {
    const input = file('progress.fa', fasta());
    const quiet = await germ(['embed', tiny.dir, input, '--device', 'cpu']);
    const shown = await germ(['embed', tiny.dir, input, '--device', 'cpu', '--progress']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(quiet.stdout);
    expect(shown.stderr).toMatch(/5 sequences/);
  });
});

describe('germ classify', () => {
  it('writes TSV with a label column and one probability column per label, and the accuracy of a labelled CSV', async () => {
    const csv = 'sequence,label\n' + RECORDS.map((r, i) => `${r.sequence},${LABELS[i]}`).join('\n') + '\n';
    const { code, stdout, stderr } = await germ(['classify', tiny.dir, file('labelled.csv', csv), '--device', 'cpu', '--batch-size', '2']);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(header).toEqual(['id', 'label', '0', '1']);
    const want = await reference.classify(RECORDS.map((r) => r.sequence));
    expect(rows.map((r) => r[0])).toEqual(['1', '2', '3', '4', '5']);
    rows.forEach((r, i) => {
      expect(r[1]).toBe(want[i].label);
      expectClose(r.slice(2).map(Number), want[i].probabilities);
    });
    const correct = want.filter((c: Classification, i: number) => c.label === LABELS[i]).length;
    expect(stderr).toBe(`accuracy: ${(correct / 5).toFixed(4)} (${correct} of 5 labelled sequences)\n`);
  });

  it('writes JSON Lines {id, label, probabilities} from FASTA, with no accuracy line', async () => {
    const { code, stdout, stderr } = await germ(['classify', tiny.dir, file('cls.fa', fasta()), '--device', 'cpu', '--json']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; label: string; probabilities: Record<string, number> });
    const want = await reference.classify(RECORDS.map((r) => r.sequence));
    rows.forEach((r, i) => {
      expect(r.id).toBe(RECORDS[i].id);
      expect(r.label).toBe(want[i].label);
      expect(Object.keys(r.probabilities)).toEqual(['0', '1']);
      expectClose(Object.values(r.probabilities), want[i].probabilities);
    });
  });
});

describe('germ info', () => {
  it('prints the configuration, as text or JSON', async () => {
    const text = await germ(['info', tiny.dir, '--device', 'cpu']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`hidden size  ${tiny.hidden}\n`);
    expect(text.stdout).toContain(`layers       ${tiny.layers}\n`);
    expect(text.stdout).toContain('attention    softmax1\n');
    expect(text.stdout).toContain('labels       2: 0, 1\n');
    const json = await germ(['info', tiny.dir, '--device', 'cpu', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ hiddenSize: tiny.hidden, numLayers: tiny.layers, numLabels: 2, labels: ['0', '1'],
      normalizer: 'softmax1', device: 'cpu', vocabSize: tiny.vocabSize, numHeads: 4, intermediateSize: 64 });
  });
});

describe('germ errors', () => {
  it('malformed FASTA: exit 1, `germ: <message> (ERR_FORMAT)`, no stack trace', async () => {
    const p = file('bad.fa', 'ACGT\n>a\nACGT\n');
    const { code, stdout, stderr } = await germ(['embed', tiny.dir, p, '--device', 'cpu']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`germ: FASTA ${p}: line 1: sequence data before the first '>' header (ERR_FORMAT)\n`);
  });

  it('a non-DNA character names the record and its line', async () => {
    const p = file('nondna.fa', '>ok\nACGT\n>bad\nACGTXACGT\n');
    const { code, stderr } = await germ(['classify', tiny.dir, p, '--device', 'cpu']);
    expect(code).toBe(1);
    expect(stderr).toBe(`germ: ${p}:3: record "bad": DNA sequence: character "X" at position 4 is not a DNA base (ERR_INVALID_ARGUMENT)\n`);
  });

  it('IUPAC codes are refused unless --map-unknown-to-n', async () => {
    const p = file('iupac.fa', '>r\nACGTRYACGT\n');
    const refused = await germ(['embed', tiny.dir, p, '--device', 'cpu']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/record "r": .*"R" at position 4 is an IUPAC ambiguity code.*\(ERR_INVALID_ARGUMENT\)\n$/);
    const mapped = await germ(['embed', tiny.dir, p, '--device', 'cpu', '--map-unknown-to-n']);
    expect(mapped.code).toBe(0);
    const [want] = await reference.embed(['ACGTNNACGT']);
    expectClose(mapped.stdout.trimEnd().split('\t').slice(1).map(Number), want.mean);
  });

  it('a CSV without a sequence column is ERR_FORMAT', async () => {
    const { code, stderr } = await germ(['classify', tiny.dir, file('noseq.csv', 'seq,label\nACGT,1\n'), '--device', 'cpu']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^germ: CSV .*noseq\.csv: line 1: the header has no "sequence" column .*\(ERR_FORMAT\)\n$/);
  });

  it('a failed run leaves no --output file', async () => {
    const out = path.join(dir, 'never.tsv');
    const { code } = await germ(['embed', tiny.dir, file('late.fa', fasta() + '>bad\nACGTX\n'), '--device', 'cpu',
      '--batch-size', '2', '--output', out]);
    expect(code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a missing input or model folder is exit 1 with a one-line message', async () => {
    const noInput = await germ(['embed', tiny.dir, path.join(dir, 'missing.fa'), '--device', 'cpu']);
    expect(noInput.code).toBe(1);
    expect(noInput.stderr).toMatch(/^germ: ENOENT: .*missing\.fa.* \(ENOENT\)\n$/);
    const noModel = await germ(['embed', path.join(dir, 'no-model'), file('m.fa', fasta()), '--device', 'cpu']);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/^germ: .* \([A-Z_]+\)\n$/);
    expectNoStack(noModel.stderr);
  });

  it('usage errors exit 2', async () => {
    const input = file('u.fa', fasta());
    const cases: [string[], RegExp][] = [
      [['embed', tiny.dir, input, '--bogus'], /^germ: unknown option '--bogus'/],
      [['embed', tiny.dir], /^germ: missing required argument 'input'/],
      [['embed', tiny.dir, input, '--batch-size', '0'], /^germ: option '--batch-size <n>' argument '0' is invalid/],
      [['embed', tiny.dir, input, '--pooling', 'max'], /^germ: option '--pooling <pooling>' argument 'max' is invalid/],
      [['embed', tiny.dir, file('seqs.txt', fasta())], /^germ: cannot tell the format of .*seqs\.txt from its name; pass --format/],
      [['frobnicate'], /^germ: unknown command 'frobnicate'/],
      [[], /Usage: germ/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await germ(args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stdout).toBe('');
      expect(stderr).toMatch(message);
    }
  });

  it('--format overrides the file name', async () => {
    const { code, stdout } = await germ(['embed', tiny.dir, file('seqs2.txt', fasta()), '--format', 'fasta', '--device', 'cpu']);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(RECORDS.length);
  });

  it('--help and --version exit 0 on stdout', async () => {
    const help = await germ(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/embed[\s\S]*classify[\s\S]*info/);
    expect((await germ(['embed', '--help'])).stdout).toMatch(/--batch-size <n>[\s\S]*--map-unknown-to-n/);
    expect(await germ(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

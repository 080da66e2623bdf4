import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type FastaOptions, type FastaRecord, readFasta } from '../lib/io/fasta';
import { collect, formatError as rejection, tempFiles } from './helpers/files';

const { dir, file } = tempFiles('germ-fasta-');

const all = (input: string | Readable, options?: FastaOptions): Promise<FastaRecord[]> => collect(readFasta(input, options));
const formatError = (input: string | Readable, options?: FastaOptions): Promise<string> => rejection(all(input, options));

const TWO = '>seq1 first record, soft-masked\nACGTAC\nGTacgt\nNN\n\n>seq2\nTTTT\n';

describe('readFasta', () => {
  it('reads multi-line records with ids, descriptions and header lines', async () => {
    expect(await all(file('two.fa', TWO))).toEqual([
      { id: 'seq1', description: 'first record, soft-masked', sequence: 'ACGTACGTacgtNN', line: 1 },
      { id: 'seq2', description: '', sequence: 'TTTT', line: 6 },
    ]);
  });

  it('reads CRLF line ends, a byte order mark, no final newline, comments, blank lines and inner spaces', async () => {
    const text = '\ufeff; a comment before the first record\r\n\r\n>a  x\ty \r\nAC GT\r\n; comment inside\r\n  \r\nGG\t\r\n>b\r\nC';
    expect(await all(file('crlf.fasta', text))).toEqual([
      { id: 'a', description: 'x\ty', sequence: 'ACGTGG', line: 3 },
      { id: 'b', description: '', sequence: 'C', line: 8 },
    ]);
  });

  it('reads gzip files named .gz, and streams', async () => {
    const gz = file('two.fa.gz', gzipSync(TWO));
    const plain = await all(file('two2.fa', TWO));
    expect(await all(gz)).toEqual(plain);
    expect(await all(Readable.from([Buffer.from(TWO)]))).toEqual(plain);
    expect(await all(Readable.from([gzipSync(TWO)]), { gzip: true })).toEqual(plain);
  });

  it('joins lines and multi-byte characters split across chunks', async () => {
    // One byte at a time: every line and the UTF-8 'é' arrive in pieces.
    const bytes = Buffer.from('>é desc é\nACGT\nAC\n>z\nG\n');
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    expect(await all(Readable.from(chunks))).toEqual([
      { id: 'é', description: 'desc é', sequence: 'ACGTAC', line: 1 },
      { id: 'z', description: '', sequence: 'G', line: 4 },
    ]);
  });

  it('reads a long single-line sequence in many chunks', async () => {
    const seq = 'ACGT'.repeat(250_000);
    const chunks = ['>long\n', ...seq.match(/.{1,4096}/g)!, '\n'];
    const [r] = await all(Readable.from(chunks));
    expect(r.sequence.length).toBe(seq.length);
    expect(r.sequence === seq).toBe(true);
  });

  it('does not check letters (the tokenizer does)', async () => {
    expect((await all(Readable.from(['>x\nRYK-*\n'])))[0].sequence).toBe('RYK-*');
  });

  it('yields nothing for an empty input', async () => {
    expect(await all(file('empty.fa', ''))).toEqual([]);
    expect(await all(file('blank.fa', '\n; only a comment\n\n'))).toEqual([]);
  });

  it('stops reading when the consumer breaks', async () => {
    const ids: string[] = [];
    for await (const r of readFasta(file('many.fa', '>a\nA\n>b\nC\n>c\nG\n'))) {
      ids.push(r.id);
      if (ids.length === 2) break;
    }
    expect(ids).toEqual(['a', 'b']);
  });

  it('refuses sequence data before the first header, naming file and line', async () => {
    const p = file('nohdr.fa', '; comment\n\nACGT\n>a\nAC\n');
    expect(await formatError(p)).toBe(`FASTA ${p}: line 3: sequence data before the first '>' header`);
  });

  it('hints at gzip when compressed data is not named .gz', async () => {
    expect(await formatError(file('packed.fa', gzipSync(TWO))))
      .toMatch(/line 1: sequence data before the first '>' header \(is it gzip-compressed\? name it \.gz\)/);
  });

  it('refuses a header with no id', async () => {
    expect(await formatError(Readable.from(['>a\nAC\n>  \nGG\n']), { source: 'in.fa' }))
      .toBe("FASTA in.fa: line 3: header '>' has no id");
  });

  it('refuses empty records by default, naming the header line; allowEmpty yields them', async () => {
    const text = '>a\nAC\n>empty\n\n>c\nGG\n>last\n';
    const p = file('gaps.fa', text);
    expect(await formatError(p)).toBe(`FASTA ${p}: line 3: record "empty" has no sequence`);
    expect(await formatError(file('tail.fa', '>a\nAC\n>last\r\n'))).toMatch(/line 3: record "last" has no sequence$/);
    expect((await all(p, { allowEmpty: true })).map((r) => [r.id, r.sequence])).toEqual([
      ['a', 'AC'], ['empty', ''], ['c', 'GG'], ['last', ''],
    ]);
  });

  it('reports truncated or invalid gzip as ERR_FORMAT', async () => {
    const gz = gzipSync(TWO.repeat(50));
    const p = file('cut.fa.gz', gz.subarray(0, gz.length - 20));
    expect(await formatError(p)).toMatch(new RegExp(`^FASTA ${p.replace(/[.\\/]/g, '\\$&')}: not valid gzip data \\(`));
    expect(await formatError(file('plain.fa.gz', TWO))).toMatch(/not valid gzip data \(incorrect header check\)/);
  });

  it('passes file system errors through', async () => {
    await expect(all(path.join(dir, 'missing.fa'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(all(path.join(dir, 'missing.fa.gz'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type CsvOptions, type CsvRecord, readCsv } from '../lib/io/csv';
import { collect, formatError as rejection, tempFiles } from './helpers/files';

const { dir, file } = tempFiles('germ-csv-');

const all = (input: string | Readable, options?: CsvOptions): Promise<CsvRecord[]> => collect(readCsv(input, options));
const formatError = (input: string | Readable, options?: CsvOptions): Promise<string> => rejection(all(input, options));

describe('readCsv', () => {
  it("reads DNABERT-2's sequence,label files; ids are data-row numbers", async () => {
    expect(await all(file('train.csv', 'sequence,label\nACGTAC,0\nGGCCTA,1\n'))).toEqual([
      { id: '1', sequence: 'ACGTAC', label: '0', line: 2 },
      { id: '2', sequence: 'GGCCTA', label: '1', line: 3 },
    ]);
  });

  it('reads files without a label column, and empty label cells as no label', async () => {
    expect(await all(file('nolabel.csv', 'sequence\nACGT\nGG\n'))).toEqual([
      { id: '1', sequence: 'ACGT', line: 2 },
      { id: '2', sequence: 'GG', line: 3 },
    ]);
    expect((await all(file('somelabels.csv', 'sequence,label\nAC,1\nGG,\n'))).map((r) => r.label)).toEqual(['1', undefined]);
  });

  it('takes ids from an id (or name) column, in any column order and case, and ignores other columns', async () => {
    const text = 'Name,extra, Label ,SEQUENCE\nchr1:1-6,x,promoter,ACGTAC\nchr2:5-9,y,other,TTTT\n';
    expect(await all(file('named.csv', text))).toEqual([
      { id: 'chr1:1-6', sequence: 'ACGTAC', label: 'promoter', line: 2 },
      { id: 'chr2:5-9', sequence: 'TTTT', label: 'other', line: 3 },
    ]);
    const both = await all(Readable.from(['name,id,sequence\nn1,i1,AC\n']));
    expect(both[0].id).toBe('i1');
  });

  it('reads quoted fields: delimiters, doubled quotes and line breaks inside quotes', async () => {
    const text = 'id,sequence,label\n"a,1",ACGT,"x ""quoted"" label"\n"multi\nline",GG,y\nplain,"TT",z\n';
    expect(await all(file('quoted.csv', text))).toEqual([
      { id: 'a,1', sequence: 'ACGT', label: 'x "quoted" label', line: 2 },
      { id: 'multi\nline', sequence: 'GG', label: 'y', line: 4 },
      { id: 'plain', sequence: 'TT', label: 'z', line: 5 },
    ]);
  });

  it('reads CRLF, a byte order mark, blank lines, spaces around fields and no final newline', async () => {
    const text = '\ufeffsequence,label\r\n ACGT , 1\r\n\r\nGGCC,0';
    expect(await all(file('crlf.csv', text))).toEqual([
      { id: '1', sequence: 'ACGT', label: '1', line: 2 },
      { id: '2', sequence: 'GGCC', label: '0', line: 4 },
    ]);
  });

  it('reads .tsv tab-separated, .gz gunzipped, and streams', async () => {
    const want = [{ id: '1', sequence: 'ACGT', label: '1', line: 2 }];
    expect(await all(file('t.tsv', 'sequence\tlabel\nACGT\t1\n'))).toEqual(want);
    expect(await all(file('t.tsv.gz', gzipSync('sequence\tlabel\nACGT\t1\n')))).toEqual(want);
    expect(await all(file('c.csv.gz', gzipSync('sequence,label\nACGT,1\n')))).toEqual(want);
    expect(await all(Readable.from(['sequence;label\n', 'ACGT;1\n']), { delimiter: ';' })).toEqual(want);
  });

  it('refuses a header without a sequence column, listing the columns', async () => {
    const p = file('noseq.csv', 'seq,label\nACGT,1\n');
    expect(await formatError(p)).toBe(`CSV ${p}: line 1: the header has no "sequence" column (columns: "seq", "label")`);
  });

  it('refuses two sequence columns', async () => {
    expect(await formatError(Readable.from(['sequence,Sequence\nA,C\n']), { source: 'x.csv' }))
      .toBe('CSV x.csv: line 1: two "sequence" columns in the header');
  });

  it('refuses an empty input (no header)', async () => {
    expect(await formatError(file('empty.csv', ''))).toMatch(/: no header row/);
  });

  it('refuses rows with the wrong number of fields, naming the line', async () => {
    const p = file('ragged.csv', 'sequence,label\nACGT,1\nGG,0,extra\n');
    expect(await formatError(p)).toMatch(new RegExp(`^CSV .*ragged\\.csv: .*expect 2, got 3 on line 3`));
  });

  it('refuses an unclosed quote and a quote inside an unquoted field', async () => {
    expect(await formatError(Readable.from(['sequence,label\n"ACGT,1\nGG,0\n']), { source: 'q.csv' }))
      .toBe('CSV q.csv: Quote Not Closed: the parsing is finished with an opening quote at line 3');
    expect(await formatError(Readable.from(['sequence,label\nA"CGT,1\n']), { source: 'q.csv' }))
      .toMatch(/^CSV q\.csv: Invalid Opening Quote: .* at line 2/);
  });

  it('refuses empty sequence cells by default, naming line and row; allowEmpty yields them', async () => {
    const p = file('gap.csv', 'sequence,label\nACGT,1\n,0\n');
    expect(await formatError(p)).toBe(`CSV ${p}: line 3: row 2 has an empty sequence`);
    expect((await all(p, { allowEmpty: true })).map((r) => r.sequence)).toEqual(['ACGT', '']);
  });

  it('reports invalid gzip as ERR_FORMAT and passes file system errors through', async () => {
    expect(await formatError(file('bad.csv.gz', 'sequence\nACGT\n'))).toMatch(/not valid gzip data/);
    await expect(all(path.join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not check letters (the tokenizer does)', async () => {
    expect((await all(Readable.from(['sequence\nRYK-*\n'])))[0].sequence).toBe('RYK-*');
  });
});

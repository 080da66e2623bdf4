// CSV in DNABERT-2's fine-tuning format: a header row naming a `sequence`
// column and optionally a `label` column (train.csv / dev.csv / test.csv), read
// as a stream of records with csv-parse (RFC 4180: quoted fields, "" escapes,
// line breaks inside quotes, LF or CRLF).
//
// Column names are matched case-insensitively, surrounding spaces ignored. An
// `id` column (else a `name` column) gives each record its id; without one the
// id is the 1-based data-row number. Other columns are ignored. A file named
// .tsv (or .tsv.gz) is read tab-separated; .gz is gunzipped. Letters are not
// checked here (the tokenizer does that).
//
// Malformed input is a GermError ERR_FORMAT naming the input and line: no
// header, no `sequence` column, a row with the wrong number of fields, an
// unclosed quote, an empty sequence (unless { allowEmpty: true }). An empty
// label cell is a record without a label.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { optionsArg } from '../dtype';
import { GermError } from '../errors';
import { type TextInputOptions, openText, readError } from './text';

export interface CsvRecord {
  /** The `id` (or `name`) cell, else the 1-based data-row number. */
  id: string;
  sequence: string;
  /** The `label` cell as written (DNABERT-2's are class indices: '0', '1', ...); absent when the column or cell is empty. */
  label?: string;
  /** 1-based line number where the record ends (a quoted field may span lines). */
  line: number;
}

export interface CsvOptions extends TextInputOptions {
  /** Field delimiter; default '\t' when the name (path or source) ends in .tsv or .tsv.gz, else ','. */
  delimiter?: string;
  /** Yield records whose sequence cell is empty instead of raising ERR_FORMAT. Default false. */
  allowEmpty?: boolean;
}

/** Reads `sequence[,label]` records from a CSV file path or Readable, in file order. */
export async function* readCsv(input: string | Readable, opts?: CsvOptions): AsyncGenerator<CsvRecord> {
  const options = optionsArg(opts, 'readCsv');
  const { stream, name } = openText(input, options, 'readCsv');
  const bad = (line: number, why: string) => new GermError(`CSV ${name}: line ${line}: ${why}`, 'ERR_FORMAT');
  const delimiter = options.delimiter ?? (/\.tsv(\.gz)?$/i.test(name) ? '\t' : ',');
  const parser = parse({ delimiter, bom: true, info: true, trim: true, skip_empty_lines: true });
  pipeline(stream, parser, () => undefined);
  let columns: { sequence: number; label: number; id: number } | undefined;
  let row = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!columns) {
        const names = record.map((c) => c.toLowerCase());
        const one = (col: string) => {
          const at = names.indexOf(col);
          if (at >= 0 && names.indexOf(col, at + 1) >= 0) throw bad(info.lines, `two "${col}" columns in the header`);
          return at;
        };
        columns = { sequence: one('sequence'), label: one('label'), id: one('id') >= 0 ? one('id') : one('name') };
        if (columns.sequence < 0)
          throw bad(info.lines, `the header has no "sequence" column (columns: ${record.map((c) => JSON.stringify(c)).join(', ')})`);
        continue;
      }
      row++;
      const sequence = record[columns.sequence];
      if (!sequence && !options.allowEmpty) throw bad(info.lines, `row ${row} has an empty sequence`);
      const label = columns.label >= 0 && record[columns.label] ? record[columns.label] : undefined;
      const id = columns.id >= 0 && record[columns.id] ? record[columns.id] : String(row);
      yield label === undefined ? { id, sequence, line: info.lines } : { id, sequence, label, line: info.lines };
    }
  } catch (e) {
    // csv-parse's own messages already say "on line N".
    if (e instanceof CsvError) throw new GermError(`CSV ${name}: ${e.message}`, 'ERR_FORMAT');
    throw readError('CSV', name, e);
  } finally {
    parser.destroy();
  }
  if (!columns) throw new GermError(`CSV ${name}: no header row (expected one naming a "sequence" column)`, 'ERR_FORMAT');
}

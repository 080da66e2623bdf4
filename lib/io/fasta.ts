// FASTA, read as a stream of records: only one record's sequence is in memory
// at a time, so a genome-sized file can be read record by record.
//
//   >id description text        a header: the id is the text up to the first
//   ACGTACGTAC                   whitespace, the description the rest (trimmed)
//   GTACGT                       sequence lines are joined, whitespace removed
//   ; a comment                  ';' lines (the old convention) are skipped
//                                blank lines are skipped
//
// LF and CRLF line ends both work; a UTF-8 byte order mark is dropped; a path
// ending in .gz is gunzipped. Letters are not checked here: the tokenizer does
// that (normalizeDna, with its mapUnknownToN option), and names the position.
//
// Malformed input is a GermError ERR_FORMAT naming the input and the 1-based
// line: sequence data before the first header, a header with no id, and a
// record with no sequence (a header followed by another header or the end).
// Empty records are errors by default because no model can read an empty
// sequence, and this is where the file and line are known; pass
// { allowEmpty: true } to get them, with sequence ''.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { GermError } from '../errors';
import { type TextInputOptions, openText, readError } from './text';

export interface FastaRecord {
  /** The header's first word, without the '>'. */
  id: string;
  /** The rest of the header line, trimmed ('' when there is none). */
  description: string;
  /** The sequence lines joined, whitespace removed, letters as in the file. */
  sequence: string;
  /** 1-based line number of the header. */
  line: number;
}

export interface FastaOptions extends TextInputOptions {
  /** Yield records with no sequence lines (sequence '') instead of raising ERR_FORMAT. Default false. */
  allowEmpty?: boolean;
}

/** Line-at-a-time FASTA state: push() returns a record when a header closes the one before it. */
class FastaParser {
  private lineNo = 0;
  private header: { id: string; description: string; line: number } | undefined;
  private parts: string[] = [];

  constructor(private readonly name: string, private readonly allowEmpty: boolean) {}

  push(raw: string): FastaRecord | undefined {
    const n = ++this.lineNo;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (n === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.startsWith('>')) {
      const done = this.finish();
      const text = line.slice(1).trim();
      const space = text.search(/\s/);
      const id = space < 0 ? text : text.slice(0, space);
      if (!id) throw this.bad(n, "header '>' has no id");
      this.header = { id, description: space < 0 ? '' : text.slice(space).trim(), line: n };
      return done;
    }
    if (line.startsWith(';') || !/\S/.test(line)) return undefined;
    if (!this.header) {
      const hint = line.includes('\u001f') || line.includes('\ufffd') ? ' (is it gzip-compressed? name it .gz)' : '';
      throw this.bad(n, `sequence data before the first '>' header${hint}`);
    }
    this.parts.push(/\s/.test(line) ? line.replace(/\s+/g, '') : line);
    return undefined;
  }

  /** The record in progress, if any; called at each header and at the end. */
  finish(): FastaRecord | undefined {
    const h = this.header;
    if (!h) return undefined;
    const sequence = this.parts.join('');
    this.parts = [];
    this.header = undefined;
    if (!sequence && !this.allowEmpty) throw this.bad(h.line, `record "${h.id}" has no sequence`);
    return { ...h, sequence };
  }

  private bad(line: number, why: string): GermError {
    return new GermError(`FASTA ${this.name}: line ${line}: ${why}`, 'ERR_FORMAT');
  }
}

/**
 * Reads FASTA records from a file path (gunzipped if it ends in .gz) or a
 * Readable, in file order. Stopping early (break) closes the file.
 */
export async function* readFasta(input: string | Readable, options: FastaOptions = {}): AsyncGenerator<FastaRecord> {
  const { stream, name } = openText(input, options);
  const parser = new FastaParser(name, options.allowEmpty ?? false);
  const decoder = new StringDecoder('utf8');
  // The unfinished last line, in pieces: a long single-line sequence is joined
  // once when its newline arrives, not re-copied with every chunk.
  let pending: string[] = [];
  const records: FastaRecord[] = [];
  const take = (line: string) => {
    const r = parser.push(line);
    if (r) records.push(r);
  };
  try {
    for await (const chunk of stream) {
      const text: string = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const tail = text.slice(start, nl);
        take(pending.length ? pending.join('') + tail : tail);
        pending = [];
        start = nl + 1;
      }
      if (start < text.length) pending.push(text.slice(start));
      yield* records.splice(0);
    }
  } catch (e) {
    throw readError('FASTA', name, e);
  } finally {
    stream.destroy();
  }
  const last = pending.join('') + decoder.end();
  if (last) take(last);
  const r = parser.finish();
  if (r) records.push(r);
  yield* records;
}

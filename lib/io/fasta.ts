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
//
// Memory stays bounded whatever the input (a gzip bomb of one endless line):
// a record longer than maxRecordLength bases (default 100 Mb) is ERR_FORMAT
// naming the record and the limit, and so is any line longer than that limit,
// found while the line is still being read, before its end arrives.
import { constants } from 'node:buffer';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { optionsArg } from '../dtype';
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

/**
 * The longest record readFasta accepts by default, in bases: 100 Mb. Far
 * beyond what the encoder embeds in one piece (tokens x hidden activations per
 * layer: 100 Mb is ~20 M tokens, 30 GB at hidden 768 in f16), so any record a
 * model can use reads, and a gzip bomb stops at a few hundred MB. Whole large
 * chromosomes (human chr1: 248 Mb) need a larger maxRecordLength.
 */
export const DEFAULT_MAX_RECORD_LENGTH = 100_000_000;

export interface FastaOptions extends TextInputOptions {
  /** Yield records with no sequence lines (sequence '') instead of raising ERR_FORMAT. Default false. */
  allowEmpty?: boolean;
  /**
   * The longest record, in bases, and the longest line, in characters;
   * longer is ERR_FORMAT. Default DEFAULT_MAX_RECORD_LENGTH (100 Mb); at most
   * what one string can hold (buffer.constants.MAX_STRING_LENGTH, about 2^29).
   */
  maxRecordLength?: number;
}

function maxRecordLengthOf(options: FastaOptions): number {
  const max = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  if (!Number.isSafeInteger(max) || max < 1 || max > constants.MAX_STRING_LENGTH - 1)
    throw new GermError(`readFasta: maxRecordLength must be an integer from 1 to ${constants.MAX_STRING_LENGTH - 1}, got ${max}`, 'ERR_INVALID_ARGUMENT');
  return max;
}

/** An id for a message: long ones cut short. */
function shown(id: string): string {
  return JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}...` : id);
}

/** Line-at-a-time FASTA state: push() returns a record when a header closes the one before it. */
class FastaParser {
  private lineNo = 0;
  private header: { id: string; description: string; line: number } | undefined;
  private parts: string[] = [];
  private length = 0;

  constructor(private readonly name: string, private readonly allowEmpty: boolean, private readonly max: number) {}

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
    const bases = /\s/.test(line) ? line.replace(/\s+/g, '') : line;
    this.length += bases.length;
    if (this.length > this.max) throw this.tooLong(n);
    this.parts.push(bases);
    return undefined;
  }

  /**
   * The error for line n (the next, unfinished one when the reader calls it)
   * longer than the limit: a header, or the record the line belongs to.
   */
  tooLong(n = this.lineNo + 1, start = ''): GermError {
    const limit = `the limit of ${this.max}`, option = '(option maxRecordLength, --max-record-length)';
    if (start.replace(/^\ufeff/, '').startsWith('>')) return this.bad(n, `header line longer than ${limit} characters ${option}`);
    if (!this.header) return this.bad(n, `line longer than ${limit} characters before the first '>' header ${option}`);
    return this.bad(n, `record ${shown(this.header.id)} (line ${this.header.line}) is longer than ${limit} bases ${option}`);
  }

  /** The record in progress, if any; called at each header and at the end. */
  finish(): FastaRecord | undefined {
    const h = this.header;
    if (!h) return undefined;
    const sequence = this.parts.join('');
    this.parts = [];
    this.length = 0;
    this.header = undefined;
    if (!sequence && !this.allowEmpty) throw this.bad(h.line, `record ${shown(h.id)} has no sequence`);
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
export async function* readFasta(input: string | Readable, opts?: FastaOptions): AsyncGenerator<FastaRecord> {
  const options = optionsArg(opts, 'readFasta');
  const max = maxRecordLengthOf(options);
  const { stream, name } = openText(input, options, 'readFasta');
  const parser = new FastaParser(name, options.allowEmpty ?? false, max);
  const decoder = new StringDecoder('utf8');
  // The unfinished last line, in pieces: a long single-line sequence is joined
  // once when its newline arrives, not re-copied with every chunk. A line is
  // at most max characters, and one more for a CR.
  let pending: string[] = [];
  let pendingLength = 0;
  const lineLimit = max + 1;
  const records: FastaRecord[] = [];
  const take = (line: string) => {
    const r = parser.push(line);
    if (r) records.push(r);
  };
  /** Cuts decoded text into lines for the parser, keeping the unfinished last one. */
  const feed = (text: string) => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const tail = text.slice(start, nl);
      if (pendingLength + tail.length > lineLimit) throw parser.tooLong(undefined, pending[0] ?? tail);
      take(pending.length ? pending.join('') + tail : tail);
      pending = [];
      pendingLength = 0;
      start = nl + 1;
    }
    if (start < text.length) {
      pending.push(text.slice(start));
      pendingLength += text.length - start;
      if (pendingLength > lineLimit) throw parser.tooLong(undefined, pending[0]);
    }
  };
  try {
    for await (const chunk of stream) {
      let failure: unknown;
      try {
        feed(typeof chunk === 'string' ? chunk : decoder.write(chunk));
      } catch (e) {
        failure = e;
      }
      // The records before a bad line come out before its error.
      yield* records.splice(0);
      if (failure) throw failure;
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

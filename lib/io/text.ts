// What the FASTA and CSV readers share: opening a file path or a Readable as a
// byte stream, gunzipped when asked (or when the path ends in .gz), and turning
// a gzip failure into a GermError ERR_FORMAT that names the input.
import { createReadStream } from 'node:fs';
import { type Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GermError } from '../errors';

export interface TextInputOptions {
  /** The input's name, in error messages and for the defaults below; default: the path, or '<stream>'. */
  source?: string;
  /** Gunzip the bytes first; default: true when the name ends in .gz. */
  gzip?: boolean;
}

/** A readable byte (or string) stream over the input, and its name for messages. */
export function openText(input: string | Readable, options: TextInputOptions = {}): { stream: Readable; name: string } {
  const isPath = typeof input === 'string';
  const name = options.source ?? (isPath ? input : '<stream>');
  const raw = isPath ? createReadStream(input) : input;
  if (!(options.gzip ?? name.endsWith('.gz'))) return { stream: raw, name };
  // pipeline destroys the gunzip stream with the source's error, so a read
  // error (ENOENT ...) reaches whoever iterates the result.
  return { stream: pipeline(raw, createGunzip(), () => undefined), name };
}

/** zlib's errors carry codes Z_DATA_ERROR, Z_BUF_ERROR, ...: those mean the bytes are not gzip. */
export function readError(kind: string, name: string, e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('Z_'))
    return new GermError(`${kind} ${name}: not valid gzip data (${(e as Error).message})`, 'ERR_FORMAT');
  return e;
}

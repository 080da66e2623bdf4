// Weights of a checkpoint by DNABERT-2's Hugging Face names, read from
// model.safetensors onto a device in the compute dtype, each shape checked
// against the config. Checkpoints saved from BertModel (no "bert." prefix) or
// wrapped once more ("model." prefix) load too.
import type { DType } from '../dtype';
import { GermError } from '../errors';
import { SafetensorsFile } from '../io/safetensors';
import type { Tensor } from '../tensor';

export class WeightReader {
  private constructor(private readonly file: SafetensorsFile, private readonly device: string,
    private readonly dtype: DType, private readonly loaded: Tensor[]) {}

  static async open(file: string, device: string, dtype: DType): Promise<WeightReader> {
    return new WeightReader(await SafetensorsFile.open(file), device, dtype, []);
  }

  /** The stored name of a weight, or undefined when the file lacks it. */
  private resolve(name: string): string | undefined {
    const e = this.file.entries;
    const candidates = [name, `model.${name}`, name.startsWith('bert.') ? name.slice(5) : `bert.${name}`];
    return candidates.find((c) => e.has(c));
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /** A weight of exactly this shape; a missing or misshapen one is ERR_FORMAT. */
  async get(name: string, shape: number[]): Promise<Tensor> {
    const stored = this.resolve(name);
    if (stored === undefined) throw new GermError(`${this.file.path}: missing weight "${name}" [${shape}]`, 'ERR_FORMAT');
    const entry = this.file.entries.get(stored)!;
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i]))
      throw new GermError(`${this.file.path}: "${stored}" is [${entry.shape}], the config needs [${shape}]`, 'ERR_FORMAT');
    const t = await this.file.read(stored, { device: this.device, dtype: this.dtype });
    this.loaded.push(t);
    return t;
  }

  /** get(), or null when the file has no such weight (optional heads). */
  async optional(name: string, shape: number[]): Promise<Tensor | null> {
    return this.has(name) ? this.get(name, shape) : null;
  }

  /** A tensor made from loaded weights, freed with them if the load fails. */
  adopt(t: Tensor): Tensor {
    this.loaded.push(t);
    return t;
  }

  /** Closes the file; on failure also frees what was loaded. */
  async close(failed = false): Promise<void> {
    if (failed) for (const t of this.loaded) t.dispose();
    await this.file.close();
  }
}

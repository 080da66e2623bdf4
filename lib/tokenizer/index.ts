// DNA tokenizers: DNABERT-2's BPE (tokenizer.json), its trainer, k-mers, single bases.
export { type DnaOptions, DNA_ALPHABET, normalizeDna } from './dna';
export { type BatchOptions, type EncodeOptions, type EncodedBatch, type Encoding } from './batch';
export { type AddedToken, type DecodeOptions, BpeTokenizer, DEFAULT_SPECIAL_TOKENS } from './bpe';
export { type TrainBpeOptions, trainBpe } from './train';
export { type KmerOptions, KmerTokenizer } from './kmer';
export { BaseTokenizer } from './base';

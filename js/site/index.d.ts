// Types of the static-site search runtime (js/site/index.js, and splade-search.js which adds the element).

export interface StaticSearchManifest {
  format: "splade-static-search";
  version: 2;
  build: string;
  model: { name: string; fingerprint: string };
  documents: number;
  passages: number;
  vocabSize: number;
  tokens: number;
  postings: number;
  scoreUnit: number;
  tokenizer: { path: string; bytes: number };
  /** `count` token-range shards (`firstToken`), then `tails` tail files of split lists. */
  shards: { path: string; count: number; firstToken: number[]; tails: number; bytes: number };
  fragments: { path: string; count: number; passagesPerFragment: number; bytes: number };
}

export interface StaticSearchOptions {
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Per request, response and body included; default 30000. A stalled server gives an Error. */
  timeoutMs?: number;
}

export interface QueryToken {
  id: number;
  /** The vocabulary string, e.g. "##ing". */
  token: string;
  /** The model's query weight (never 0: tokens weighing 0 are left out). */
  weight: number;
}

export interface MatchedTerm {
  id: number;
  token: string;
  queryWeight: number;
  /** The stored (8-bit quantized) passage weight. */
  documentWeight: number;
  /** This token's share of the score. */
  contribution: number;
}

export interface Excerpt {
  text: string;
  /** `[start, end]` ranges of `text` to mark (UTF-16 offsets). */
  highlights: [number, number][];
  clippedStart: boolean;
  clippedEnd: boolean;
}

export interface StaticSearchHit {
  /** The passage's position in the bundle. */
  ordinal: number;
  /** The document's id and the passage's index within it. */
  id: string;
  n: number;
  score: number;
  title: string;
  url: string;
  /** The whole passage; untrusted: render as text. */
  text: string;
  excerpt: Excerpt;
  /** "Why this result": the query tokens the passage holds, largest contribution first. */
  terms: MatchedTerm[];
}

export interface StaticSearchResults {
  query: string;
  tokens: QueryToken[];
  /** Best first; ties by ordinal. Scores equal `splade site search`. */
  hits: StaticSearchHit[];
  /** Shards and fragments this search downloaded (cached ones are free). */
  fetched: { files: number; bytes: number };
  /** Milliseconds of scoring and top-k once the shards were there. */
  searchMs: number;
}

export class StaticSearch {
  readonly manifest: StaticSearchManifest;
  readonly tokenizer: WordPieceTokenizer;
  /** Requests and stored bytes so far, manifest and tokenizer included. */
  readonly transfer: { requests: number; bytes: number };
  encode(query: string): QueryToken[];
  /** Rejects with an Error naming the file when a shard or fragment is missing, truncated, corrupt or from another build. */
  search(query: string, options?: { k?: number }): Promise<StaticSearchResults>;
}

/** Loads the manifest and the tokenizer of the bundle folder at `bundleUrl`. */
export function createStaticSearch(bundleUrl: string | URL, options?: StaticSearchOptions): Promise<StaticSearch>;

export class WordPieceTokenizer {
  constructor(options: {
    vocab: string[];
    unkId: number;
    continuingSubwordPrefix: string;
    maxInputCharsPerWord: number;
    normalizer: { clean_text: boolean; handle_chinese_chars: boolean; strip_accents: boolean; lowercase: boolean };
    addedTokens: { id: number; content: string; single_word?: boolean; lstrip?: boolean; rstrip?: boolean; normalized?: boolean }[];
    maxTokens: number;
  });
  readonly vocabSize: number;
  token(id: number): string | undefined;
  /** Query token ids as the tokenizers crate gives them (no special tokens), truncated unless `limit` is false. */
  encode(text: string, options?: { limit?: boolean }): number[];
  normalize(text: string): string;
}

/** Parses a decompressed tokenizer.bin; throws when it is malformed or (given `fingerprint`) from another model. */
export function parseTokenizerAsset(
  bytes: Uint8Array,
  options?: { what?: string; fingerprint?: string | null },
): { tokenizer: WordPieceTokenizer; weights: Float32Array; header: Record<string, unknown> };

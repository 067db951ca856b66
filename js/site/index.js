// The static-site search API (no DOM needed: also runs in Node, workers and tests).
export { createStaticSearch, StaticSearch } from "./search.js";
export { parseTokenizerAsset } from "./bundle.js";
export { WordPieceTokenizer } from "./tokenizer.js";

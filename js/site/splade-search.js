// The drop-in entry point: the API plus the <splade-search> element.
export { createStaticSearch, StaticSearch } from "./search.js";
export { parseTokenizerAsset } from "./bundle.js";
export { WordPieceTokenizer } from "./tokenizer.js";
export { SpladeSearchElement } from "./element.js";

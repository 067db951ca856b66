export * from "./index.js";

/** `<splade-search bundle="URL" [placeholder] [label] [k] [preload] [shortcut] [theme="light|dark"]>` */
export class SpladeSearchElement extends HTMLElement {
  /** The open search once the bundle has loaded, else null. */
  readonly search: import("./index.js").StaticSearch | null;
}

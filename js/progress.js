// Indexing bookkeeping shared by Search.add and ResumableIndexer: the documents accepted, and the
// progress of a run as the "progress" event and `progress` report it.

export function charsOf(docs) {
  return docs.reduce((n, d) => n + d.text.length, 0);
}

/**
 * `{done, total, passages, chars, totalChars, seconds, docsPerSecond, etaSeconds}` of `run` (its
 * counts and Search.add's estimate), with the runs before it since the queue was last empty
 * (`session`) and the documents queued behind it (`pending`) included.
 */
export function runProgress(session, run, pending) {
  const runSeconds = (performance.now() - run.started) / 1000;
  const seconds = session.seconds + runSeconds;
  const chars = session.chars + run.chars;
  const runLeft = run.totalChars - run.chars;
  const left = runLeft + charsOf(pending);
  // The run's own estimate (measured after its first job) gives the rate for the queue behind it too.
  const rate = run.eta > 0 ? runLeft / run.eta : runSeconds > 0 && run.chars > 0 ? run.chars / runSeconds : 0;
  return {
    done: session.documents + run.done,
    total: session.documents + run.total + pending.length,
    passages: session.passages + run.passages,
    chars,
    totalChars: chars + left,
    seconds,
    docsPerSecond: seconds > 0 ? (session.documents + run.done) / seconds : 0,
    etaSeconds: run.eta != null && rate > 0 ? left / rate : null,
  };
}

/** A document as Search.add accepts it (`{id, text, title?, source?, meta?}`), or a TypeError that says what is wrong. */
export function normalizeDoc(doc, i) {
  if (doc == null || typeof doc !== "object") {
    throw new TypeError(`document ${i} must be an object {id, text, title?, meta?}`);
  }
  if (typeof doc.text !== "string") {
    throw new TypeError(`document ${i} (${doc.id ?? "no id"}) has no text string`);
  }
  if (doc.id == null || String(doc.id) === "") {
    throw new TypeError(`document ${i} has no id`);
  }
  const out = { id: String(doc.id), text: doc.text };
  if (doc.title != null && doc.title !== "") {
    out.title = String(doc.title);
  }
  if (doc.source != null && doc.source !== "") {
    out.source = String(doc.source);
  }
  if (doc.meta != null) {
    out.meta = doc.meta;
  }
  return out;
}

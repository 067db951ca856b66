// Identical content is indexed once: which of the documents being added are new, which are already
// indexed unchanged (same id, same text), and which repeat a text indexed or queued under another id
// (the same file picked twice, through a file and a folder picker).

/**
 * Sorts `docs` against `search` and the documents `queued` (waiting or in a run). Returns `{list,
 * unchanged: [id], duplicates: [{id, of}]}`: `list` holds what to index.
 */
export function sortOutDuplicates(search, queued, docs) {
  const seen = new Map(queued.map((d) => [d.text, String(d.id)]));
  const list = [];
  const unchanged = [];
  const duplicates = [];
  for (const doc of docs) {
    const id = String(doc.id);
    const indexedAs = search.idOfText(doc.text);
    const queuedAs = seen.get(doc.text);
    if (indexedAs === id && queuedAs == null) {
      unchanged.push(id);
    } else if (indexedAs != null && indexedAs !== id) {
      duplicates.push({ id, of: indexedAs });
    } else if (queuedAs != null && queuedAs !== id) {
      duplicates.push({ id, of: queuedAs });
    } else {
      list.push(doc);
      seen.set(doc.text, id);
    }
  }
  return { list, unchanged, duplicates };
}

// Split documents into passages and encode them: the unit of work of a worker (or of the calling
// thread when there are no workers).
import { splitPassages, tokenBudget } from "./passages.js";

/**
 * `docs`: `[{key, text}]`. Returns `[{key, passages: [{start, end, indices, values}]}]` and the
 * number of passages. All of a call's passages go to one `encodeDocuments` call (batched by length).
 */
export function encodeDocs(encoder, budget, docs) {
  const split = docs.map((doc) => splitPassages(doc.text, budget));
  const texts = [];
  split.forEach((passages, i) => {
    for (const p of passages) {
      texts.push(docs[i].text.slice(p.start, p.end));
    }
  });
  const vectors = texts.length > 0 ? encoder.encodeDocuments(texts) : [];
  let k = 0;
  const results = docs.map((doc, i) => ({
    key: doc.key,
    passages: split[i].map((p) => {
      const v = vectors[k++];
      return { start: p.start, end: p.end, indices: v.indices, values: v.values };
    }),
  }));
  return { results, passages: texts.length };
}

export { tokenBudget };

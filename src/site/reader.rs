//! Reading a bundle as the browser runtime does: the manifest, then only the shards of the query's
//! tokens (each checked and cached), exact integer top-k, then the fragments of the hits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::format::{open, BuildId, Cursor, FileKind, Manifest, MANIFEST, TOKENIZER};
use super::tokenizer_asset;
use crate::error::{Error, Result};
use crate::query::QueryEncoder;

/// One token's postings as `(passage ordinal, impact)`, in ordinal order.
pub type Postings = Vec<(u32, u8)>;

/// One token's list inside a decoded shard.
#[derive(Debug, Clone)]
pub struct ListEntry {
    pub token: u32,
    pub count: usize,
    pub factor: u32,
    pub scale: f32,
    /// The list's tail segments (when split): `(posting file number, largest impact)`, impacts
    /// decreasing from one segment to the next.
    pub tails: Vec<(usize, u8)>,
    ids: std::ops::Range<usize>,
    impacts: std::ops::Range<usize>,
}

pub struct Shard {
    body: Vec<u8>,
    entries: Vec<ListEntry>,
}

impl Shard {
    /// A shard body holding lists of tokens in `first_token..end_token`; the tails its entries
    /// name must be in `tail_files`.
    fn parse(
        body: Vec<u8>,
        first_token: u32,
        end_token: u32,
        tail_files: std::ops::Range<usize>,
        file: &str,
    ) -> Result<Self> {
        let mut c = Cursor::new(&body, file);
        let n = c.varint()? as usize;
        let mut entries = Vec::with_capacity(n.min(body.len()));
        let mut token = first_token;
        let mut data_len = 0usize;
        for i in 0..n {
            let gap = c.varint()?;
            if i > 0 && gap == 0 {
                return Err(c.malformed("token ids must increase"));
            }
            token = token
                .checked_add(gap)
                .filter(|&t| t < end_token)
                .ok_or_else(|| c.malformed("token id outside the shard's range"))?;
            let count = c.varint()? as usize;
            let factor = c.varint()?;
            let scale = c.f32()?;
            let id_bytes = c.varint()? as usize;
            if count == 0 || factor == 0 || id_bytes < count {
                return Err(c.malformed("empty list, zero factor or short id stream"));
            }
            let tail_count = c.varint()? as usize;
            let mut tails = Vec::with_capacity(tail_count.min(32));
            for _ in 0..tail_count {
                let file = c.varint()? as usize;
                let max = u8::try_from(c.varint()?)
                    .ok()
                    .filter(|&m| m > 0 && tails.last().is_none_or(|&(_, before)| m <= before))
                    .ok_or_else(|| c.malformed("tail impacts must be 1..=255, decreasing"))?;
                if !(tail_files.contains(&file)) {
                    return Err(c.malformed("tail file number outside the manifest's tails"));
                }
                tails.push((file, max));
            }
            let ids = data_len..data_len + id_bytes;
            let impacts = ids.end..ids.end + count;
            data_len = impacts.end;
            entries.push(ListEntry {
                token,
                count,
                factor,
                scale,
                tails,
                ids,
                impacts,
            });
        }
        let start = c.position();
        if body.len() - start != data_len {
            return Err(c.malformed("the lists' data does not fill the rest of the shard"));
        }
        for e in &mut entries {
            e.ids = e.ids.start + start..e.ids.end + start;
            e.impacts = e.impacts.start + start..e.impacts.end + start;
        }
        Ok(Self { body, entries })
    }

    pub fn entry(&self, token: u32) -> Option<&ListEntry> {
        self.entries
            .binary_search_by_key(&token, |e| e.token)
            .ok()
            .map(|i| &self.entries[i])
    }

    /// `(ordinal, impact)` pairs of a list, checked against the passage count.
    pub fn postings(&self, e: &ListEntry, passages: usize, file: &str) -> Result<Postings> {
        let mut c = Cursor::new(&self.body[e.ids.clone()], file);
        let impacts = &self.body[e.impacts.clone()];
        let mut out = Vec::with_capacity(e.count);
        let mut ordinal: Option<u32> = None;
        for &q in impacts {
            let gap = c.varint()?;
            let next = match ordinal {
                None => Some(gap),
                Some(_) if gap == 0 => None,
                Some(o) => o.checked_add(gap),
            };
            let o = next
                .filter(|&o| (o as usize) < passages)
                .ok_or_else(|| c.malformed("passage ordinal out of order or out of range"))?;
            if q == 0 {
                return Err(c.malformed("impact 0"));
            }
            out.push((o, q));
            ordinal = Some(o);
        }
        if !c.is_at_end() {
            return Err(c.malformed("id stream longer than its list"));
        }
        Ok(out)
    }
}

/// A passage's record in a fragment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PassageRecord {
    pub id: String,
    pub n: usize,
    pub title: String,
    pub url: String,
    pub text: String,
    /// `[token, impact]` of this passage in split lists' tail segments, tokens increasing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<[u32; 2]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub ordinal: u32,
    /// `Σ F_t · q(t, p)`, exact.
    pub acc: u64,
    pub score: f64,
}

/// A bundle in a folder, read file by file with the counts a browser would see.
pub struct Bundle {
    dir: PathBuf,
    pub manifest: Manifest,
    build: BuildId,
    shards: HashMap<usize, Shard>,
    fragments: HashMap<usize, Vec<PassageRecord>>,
    query: Option<QueryEncoder>,
    /// Stored shard and fragment files read so far, and their stored bytes.
    pub files: usize,
    pub bytes: u64,
}

impl Bundle {
    pub fn open(dir: &Path) -> Result<Self> {
        let manifest = Manifest::parse(&read(dir, MANIFEST)?)?;
        let build = manifest.build_id()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            build,
            shards: HashMap::new(),
            fragments: HashMap::new(),
            query: None,
            files: 0,
            bytes: 0,
        })
    }

    /// The bundle's query encoder (from `tokenizer.bin`), checked against the manifest's model.
    pub fn query_encoder(&mut self) -> Result<&QueryEncoder> {
        if self.query.is_none() {
            let model = self.manifest.model.as_ref().ok_or_else(|| {
                Error::input("this bundle has no tokenizer (built from vectors without a model): query it by token ids")
            })?;
            let (query, fingerprint) = tokenizer_asset::read(&read(&self.dir, TOKENIZER)?)?;
            if fingerprint != model.fingerprint {
                return Err(Error::input(format!(
                    "bundle file `{TOKENIZER}` is for model {fingerprint}, the manifest says {}: the bundle mixes two builds",
                    model.fingerprint
                )));
            }
            self.query = Some(query);
        }
        Ok(self.query.as_ref().expect("just set"))
    }

    /// The query's distinct token ids with a non-zero query weight, increasing.
    pub fn query_tokens(&mut self, text: &str) -> Result<Vec<u32>> {
        let v = self.query_encoder()?.encode(text)?;
        Ok(v.indices().to_vec())
    }

    fn fetch(&mut self, kind: FileKind, n: usize) -> Result<Vec<u8>> {
        let path = kind.path(n);
        let stored = read(&self.dir, &path)?;
        self.files += 1;
        self.bytes += stored.len() as u64;
        open(kind, n, &self.build, &stored, &path)
    }

    /// Posting file `n`: a token-range shard (`tail_of` = `None`) or a tail of that token's list.
    fn shard(&mut self, n: usize, tail_of: Option<u32>) -> Result<&Shard> {
        if !self.shards.contains_key(&n) {
            let body = self.fetch(FileKind::Shard, n)?;
            let map = &self.manifest.shards;
            let (first, end) = match tail_of {
                None => (
                    map.first_token[n],
                    map.first_token
                        .get(n + 1)
                        .copied()
                        .unwrap_or(self.manifest.vocab_size as u32),
                ),
                Some(token) => (token, token + 1),
            };
            let tails = map.count..self.manifest.shard_files();
            let shard = Shard::parse(body, first, end, tails, &FileKind::Shard.path(n))?;
            self.shards.insert(n, shard);
        }
        Ok(&self.shards[&n])
    }

    /// The head of `token`'s list (the whole list when it is not split): entry and postings.
    fn head(&mut self, token: u32) -> Result<Option<(ListEntry, Postings)>> {
        if token as usize >= self.manifest.vocab_size {
            return Err(Error::input(format!(
                "token id {token} is outside the bundle's vocabulary of {}",
                self.manifest.vocab_size
            )));
        }
        let n = self.manifest.shard_of(token);
        let passages = self.manifest.passages;
        let shard = self.shard(n, None)?;
        let Some(entry) = shard.entry(token).cloned() else {
            return Ok(None);
        };
        let postings = shard.postings(&entry, passages, &FileKind::Shard.path(n))?;
        Ok(Some((entry, postings)))
    }

    /// The tail segment in `file` of the list whose head is `head`, its impacts checked against
    /// the bound `max` the head announced.
    fn tail(&mut self, head: &ListEntry, file: usize, max: u8) -> Result<Postings> {
        let passages = self.manifest.passages;
        let path = FileKind::Shard.path(file);
        let shard = self.shard(file, Some(head.token))?;
        let bad = |what: &str| {
            Error::input(format!(
                "bundle file `{path}` is malformed: {what} (tail of token {})",
                head.token
            ))
        };
        let entry = shard
            .entry(head.token)
            .cloned()
            .ok_or_else(|| bad("no list of this token"))?;
        if entry.factor != head.factor || entry.scale.to_bits() != head.scale.to_bits() {
            return Err(bad("factor or scale differs from the head's"));
        }
        let postings = shard.postings(&entry, passages, &path)?;
        if postings.iter().any(|&(_, q)| q > max) {
            return Err(bad("an impact above the bound its head announced"));
        }
        Ok(postings)
    }

    /// Every posting of `token` (head and tails) in ordinal order, and its head's entry.
    pub fn list(&mut self, token: u32) -> Result<Option<(ListEntry, Postings)>> {
        let Some((entry, mut postings)) = self.head(token)? else {
            return Ok(None);
        };
        for &(file, max) in &entry.tails {
            postings.extend(self.tail(&entry, file, max)?);
        }
        postings.sort_unstable();
        Ok(Some((entry, postings)))
    }

    /// Exact top-k over the stored impacts: `acc` descending, ties by ordinal ascending.
    ///
    /// Split lists (FORMAT.md, "Split lists"): heads first; then, while the top k is not settled
    /// by the upper bounds, the pending tail segment with the largest bound `F_t × max impact`
    /// (ties: lower token id). The hits' postings in tails never fetched come from their
    /// fragments, so the scores are exact either way.
    pub fn search_tokens(&mut self, tokens: &[u32], k: usize) -> Result<Vec<Hit>> {
        let mut tokens = tokens.to_vec();
        tokens.sort_unstable();
        tokens.dedup();
        let mut acc: HashMap<u32, u64> = HashMap::new();
        let mut lists: Vec<QueryList> = Vec::new();
        for &t in &tokens {
            if let Some((head, postings)) = self.head(t)? {
                let list = QueryList {
                    factor: u64::from(head.factor),
                    pending: head.tails.clone(),
                    head,
                    fetched: Vec::new(),
                };
                lists.push(list);
                add_segment(&mut acc, lists.last_mut().expect("pushed"), postings);
            }
        }
        loop {
            let rest: u64 = lists.iter().map(QueryList::bound).sum();
            if k == 0 || rest == 0 || settled(&lists, &acc, rest, k) {
                break;
            }
            let next = (0..lists.len())
                .max_by_key(|&i| (lists[i].bound(), std::cmp::Reverse(lists[i].head.token)))
                .expect("a list with a pending tail");
            let (file, max) = lists[next].pending.remove(0);
            let postings = self.tail(&lists[next].head, file, max)?;
            add_segment(&mut acc, &mut lists[next], postings);
        }
        let mut hits = top_k(acc.into_iter().map(|(o, a)| (a, o)).collect(), k);
        if lists.iter().any(|l| !l.pending.is_empty()) {
            for hit in &mut hits {
                let record = self.passage(hit.1)?;
                for l in lists
                    .iter()
                    .filter(|l| !l.pending.is_empty() && !l.holds(hit.1))
                {
                    let token = l.head.token;
                    if let Ok(i) = record.tail.binary_search_by_key(&token, |e| e[0]) {
                        let q = record.tail[i][1];
                        if q == 0 || q > u32::from(l.pending[0].1) {
                            return Err(Error::input(format!(
                                "bundle fragment of passage {} is malformed: impact {q} of token {token} breaks its list's bound",
                                hit.1
                            )));
                        }
                        hit.0 += l.factor * u64::from(q);
                    }
                }
            }
            hits = top_k(hits, k);
        }
        let unit = self.manifest.score_unit;
        Ok(hits
            .into_iter()
            .map(|(acc, ordinal)| Hit {
                ordinal,
                acc,
                score: acc as f64 * unit,
            })
            .collect())
    }

    /// The fragment record of a passage.
    pub fn passage(&mut self, ordinal: u32) -> Result<PassageRecord> {
        let per = self.manifest.fragments.passages_per_fragment;
        let n = ordinal as usize / per;
        if ordinal as usize >= self.manifest.passages {
            return Err(Error::input(format!("no passage {ordinal} in the bundle")));
        }
        if !self.fragments.contains_key(&n) {
            let body = self.fetch(FileKind::Fragment, n)?;
            let path = FileKind::Fragment.path(n);
            let records: Vec<PassageRecord> = serde_json::from_slice(&body)
                .map_err(|e| Error::input(format!("bundle file `{path}` is malformed: {e}")))?;
            let expected = per.min(self.manifest.passages - n * per);
            if records.len() != expected {
                return Err(Error::input(format!(
                    "bundle file `{path}` holds {} passages, expected {expected}",
                    records.len()
                )));
            }
            self.fragments.insert(n, records);
        }
        Ok(self.fragments[&n][ordinal as usize % per].clone())
    }
}

/// A query token's list during a search: the segments fetched so far and the tails still pending.
struct QueryList {
    head: ListEntry,
    factor: u64,
    fetched: Vec<Postings>,
    pending: Vec<(usize, u8)>,
}

impl QueryList {
    /// The most its pending tails can add to one passage's `acc`.
    fn bound(&self) -> u64 {
        self.pending
            .first()
            .map_or(0, |&(_, max)| self.factor * u64::from(max))
    }

    /// Whether `ordinal`'s posting in this list (if any) has been fetched.
    fn holds(&self, ordinal: u32) -> bool {
        self.fetched
            .iter()
            .any(|s| s.binary_search_by_key(&ordinal, |&(o, _)| o).is_ok())
    }
}

fn add_segment(acc: &mut HashMap<u32, u64>, list: &mut QueryList, postings: Postings) {
    for &(o, q) in &postings {
        *acc.entry(o).or_insert(0) += list.factor * u64::from(q);
    }
    list.fetched.push(postings);
}

/// Whether the fetched segments settle the top `k`: the k-th best partial sum `L` beats the
/// bound `rest` of any passage not seen yet, and exactly k seen passages can still reach `L`
/// (partial sum plus the bounds of the lists whose fetched segments do not hold them).
fn settled(lists: &[QueryList], acc: &HashMap<u32, u64>, rest: u64, k: usize) -> bool {
    if acc.len() < k {
        return false;
    }
    let mut values: Vec<u64> = acc.values().copied().collect();
    values.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
    let kth = values[k - 1];
    if rest >= kth {
        return false;
    }
    let mut credit: HashMap<u32, u64> = HashMap::new();
    for l in lists.iter().filter(|l| l.bound() > 0) {
        for segment in &l.fetched {
            for &(o, _) in segment {
                *credit.entry(o).or_insert(0) += l.bound();
            }
        }
    }
    let reachable = acc
        .iter()
        .filter(|&(o, &a)| a + rest - credit.get(o).copied().unwrap_or(0) >= kth)
        .count();
    reachable == k
}

/// The `k` best `(acc, ordinal)`: `acc` descending, ties by ordinal ascending.
fn top_k(mut hits: Vec<(u64, u32)>, k: usize) -> Vec<(u64, u32)> {
    let order = |a: &(u64, u32), b: &(u64, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
    if hits.len() > k && k > 0 {
        hits.select_nth_unstable_by(k - 1, order);
    }
    hits.truncate(k);
    hits.sort_unstable_by(order);
    hits
}

fn read(dir: &Path, path: &str) -> Result<Vec<u8>> {
    let full = dir.join(path);
    std::fs::read(&full).map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            "is missing".to_string()
        } else {
            format!("cannot be read ({e})")
        };
        Error::input(format!(
            "bundle file `{path}` {what} (in `{}`)",
            dir.display()
        ))
    })
}

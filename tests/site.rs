//! Static-site search bundles (`splade site …`): exact scores over the stored impacts, ties,
//! incremental rebuilds, integrity errors, hostile pages, and passage splitting equal to the JS
//! library's.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use splade_wasm::site::builder::{build_with_model, write_bundle, BuildOptions, BundleContent};
use splade_wasm::site::format::{gunzip, gzip};
use splade_wasm::site::input::{read_documents, SiteDocument};
use splade_wasm::site::passages::{split_passages, Utf16Text};
use splade_wasm::site::postings::PostingsBuilder;
use splade_wasm::site::{Bundle, Model, PassageRecord};
use splade_wasm::SparseVector;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("splade-site-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn model() -> Model {
    Model::load(&repo("tests/fixtures/splade-tiny")).unwrap()
}

fn record(i: usize) -> PassageRecord {
    PassageRecord {
        id: format!("doc-{i}"),
        n: 0,
        title: format!("Title {i}"),
        url: String::new(),
        text: format!("text {i}"),
        tail: Vec::new(),
    }
}

/// A small deterministic corpus: passage i has tokens drawn by a linear congruential generator.
fn vectors(n: usize, vocab: u32) -> Vec<SparseVector> {
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    (0..n)
        .map(|_| {
            let nnz = 5 + next() % 30;
            let pairs = (0..nnz)
                .map(|_| {
                    // Skewed ids so some lists are long (several shards) and most are short.
                    let id = (next() % vocab).min(next() % vocab);
                    (id, 0.01 + (next() % 3000) as f32 / 1000.0)
                })
                .collect();
            SparseVector::from_pairs(pairs)
        })
        .collect()
}

fn vector_bundle(out: &Path, vecs: &[SparseVector], vocab: usize, shard_bytes: usize) {
    let options = BuildOptions {
        shard_bytes,
        passages_per_fragment: 4,
        ..BuildOptions::default()
    };
    vector_bundle_with(out, vecs, vocab, &options);
}

fn vector_bundle_with(out: &Path, vecs: &[SparseVector], vocab: usize, options: &BuildOptions) {
    let mut postings = PostingsBuilder::new(vocab);
    for v in vecs {
        postings.add(v).unwrap();
    }
    let content = BundleContent {
        model: None,
        documents: vecs.len(),
        records: (0..vecs.len()).map(record).collect(),
    };
    write_bundle(out, postings, content, options).unwrap();
}

#[test]
fn scores_equal_brute_force_over_stored_impacts() {
    let out = temp_dir("brute");
    let vocab = 400;
    let vecs = vectors(300, vocab);
    vector_bundle(&out, &vecs, vocab as usize, 512);
    let mut all = Bundle::open(&out).unwrap();
    assert!(all.manifest.shards.count > 5, "several shards");
    // Every stored list, read independently of the search: token → (factor, scale, postings).
    let mut lists = HashMap::new();
    for t in 0..vocab {
        if let Some((entry, postings)) = all.list(t).unwrap() {
            // The impact stands for the original weight within half a quantization step.
            for &(o, q) in &postings {
                let w = vecs[o as usize].get(t).expect("posting of a stored weight");
                let step = entry.scale;
                assert!(
                    (f32::from(q) * step - w).abs() <= step * 0.5 + w * 1e-6,
                    "token {t}: {q} × {step} vs {w}"
                );
            }
            let stored: usize = postings.len();
            let expected = vecs.iter().filter(|v| v.get(t).is_some()).count();
            assert_eq!(stored, expected, "token {t} keeps every posting");
            lists.insert(t, (entry.factor, postings));
        }
    }
    let unit = all.manifest.score_unit;
    let queries: Vec<Vec<u32>> = (0..40u32)
        .map(|i| {
            (0..(1 + i % 6))
                .map(|j| (i * 37 + j * 101) % vocab)
                .collect()
        })
        .collect();
    for q in &queries {
        let mut acc = vec![0u64; vecs.len()];
        let mut distinct = q.clone();
        distinct.sort_unstable();
        distinct.dedup();
        for t in &distinct {
            if let Some((factor, postings)) = lists.get(t) {
                for &(o, impact) in postings {
                    acc[o as usize] += u64::from(*factor) * u64::from(impact);
                }
            }
        }
        let mut expected: Vec<(u64, u32)> = acc
            .iter()
            .enumerate()
            .filter(|(_, &a)| a > 0)
            .map(|(o, &a)| (a, o as u32))
            .collect();
        expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        expected.truncate(10);
        let mut fresh = Bundle::open(&out).unwrap();
        let hits = fresh.search_tokens(q, 10).unwrap();
        let got: Vec<(u64, u32)> = hits.iter().map(|h| (h.acc, h.ordinal)).collect();
        assert_eq!(got, expected, "query {q:?}");
        for h in &hits {
            assert_eq!(h.score, h.acc as f64 * unit);
        }
        // Only the query's shards were read.
        let shards: std::collections::HashSet<usize> = distinct
            .iter()
            .map(|&t| fresh.manifest.shard_of(t))
            .collect();
        assert_eq!(fresh.files, shards.len());
    }
}

/// Every stored list: token → (factor, postings as (ordinal, impact)).
type StoredLists = HashMap<u32, (u32, Vec<(u32, u8)>)>;

/// `(acc, ordinal)` of the top `k` by a brute-force dot product over `lists`.
fn brute_force(lists: &StoredLists, query: &[u32], k: usize) -> Vec<(u64, u32)> {
    let mut acc: HashMap<u32, u64> = HashMap::new();
    let mut distinct = query.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    for t in &distinct {
        if let Some((factor, postings)) = lists.get(t) {
            for &(o, q) in postings {
                *acc.entry(o).or_insert(0) += u64::from(*factor) * u64::from(q);
            }
        }
    }
    let mut ranked: Vec<(u64, u32)> = acc.into_iter().map(|(o, a)| (a, o)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.truncate(k);
    ranked
}

#[test]
fn split_lists_give_exact_results_and_fetch_tails_only_when_bounds_need_them() {
    let vocab = 300u32;
    let vecs = vectors(3000, vocab);
    let whole = temp_dir("split-whole");
    let split = temp_dir("split-heads");
    let options = |head_postings| BuildOptions {
        shard_bytes: 1024,
        passages_per_fragment: 4,
        head_postings,
        ..BuildOptions::default()
    };
    vector_bundle_with(&whole, &vecs, vocab as usize, &options(0));
    vector_bundle_with(&split, &vecs, vocab as usize, &options(24));
    let mut w = Bundle::open(&whole).unwrap();
    let mut s = Bundle::open(&split).unwrap();
    assert_eq!(w.manifest.shards.tails, 0);
    assert!(
        s.manifest.shards.tails > 50,
        "{} tails",
        s.manifest.shards.tails
    );
    // Every posting is kept, in one segment only.
    let mut lists = HashMap::new();
    for t in 0..vocab {
        let a = w.list(t).unwrap();
        let b = s.list(t).unwrap();
        assert_eq!(
            a.as_ref().map(|x| &x.1),
            b.as_ref().map(|x| &x.1),
            "token {t}"
        );
        if let Some((entry, postings)) = a {
            lists.insert(t, (entry.factor, postings));
        }
    }
    let tails_of: HashMap<u32, usize> = (0..vocab)
        .filter_map(|t| s.list(t).unwrap().map(|(e, _)| (t, e.tails.len())))
        .collect();
    let (mut skipped, mut needed) = (0, 0);
    for i in 0..80u32 {
        // Mostly frequent (low) ids, as real queries hit the long lists.
        let mut query: Vec<u32> = (0..(1 + i % 5))
            .map(|j| (i * 7 + j * 13) % (20 + i))
            .collect();
        query.sort_unstable();
        query.dedup();
        for k in [1, 3, 10] {
            let expected = brute_force(&lists, &query, k);
            let mut b = Bundle::open(&split).unwrap();
            let hits = b.search_tokens(&query, k).unwrap();
            let got: Vec<(u64, u32)> = hits.iter().map(|h| (h.acc, h.ordinal)).collect();
            assert_eq!(got, expected, "query {query:?}, k {k}");
            for h in &hits {
                assert_eq!(h.score, h.acc as f64 * s.manifest.score_unit);
                b.passage(h.ordinal).unwrap();
            }
            let heads: HashSet<usize> = query.iter().map(|&t| b.manifest.shard_of(t)).collect();
            let fragments: HashSet<u32> = hits.iter().map(|h| h.ordinal / 4).collect();
            let tails_read = b.files - heads.len() - fragments.len();
            let tails: usize = query.iter().filter_map(|t| tails_of.get(t)).sum();
            skipped += usize::from(tails_read < tails);
            needed += usize::from(tails_read > 0);
        }
    }
    // Both paths run: searches that stop on the bounds (the hits' tail postings then come from
    // their fragments) and searches that need tails.
    assert!(skipped > 50, "tails left out on {skipped} of 240 searches");
    assert!(needed > 50, "tails read on {needed} of 240 searches");
}

#[test]
fn equal_scores_rank_by_passage_order() {
    let out = temp_dir("ties");
    let same = SparseVector::from_pairs(vec![(3, 1.5), (7, 0.5)]);
    let other = SparseVector::from_pairs(vec![(3, 0.2)]);
    let vecs = vec![other.clone(), same.clone(), other, same.clone(), same];
    vector_bundle(&out, &vecs, 10, 1024);
    let mut b = Bundle::open(&out).unwrap();
    let hits = b.search_tokens(&[7, 3, 3], 4).unwrap();
    let order: Vec<u32> = hits.iter().map(|h| h.ordinal).collect();
    assert_eq!(order, [1, 3, 4, 0]);
    assert_eq!(hits[0].acc, hits[2].acc);
    assert!(b.search_tokens(&[9], 4).unwrap().is_empty());
    assert_eq!(b.search_tokens(&[3], 2).unwrap().len(), 2);
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "postings", "fragments"] {
        let d = dir.join(sub);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn incremental_rebuild_encodes_only_changed_documents_and_equals_a_clean_build() {
    let model = model();
    let work = temp_dir("incremental");
    let site = work.join("site");
    copy_dir(&repo("tests/data/docs-folder"), &site);
    let cache = work.join("bundle.cache");
    let options = BuildOptions {
        shard_bytes: 2048,
        cache: Some(cache.clone()),
        max_passage_tokens: Some(64),
        ..BuildOptions::default()
    };
    let first = build_with_model(
        &model,
        &read_documents(&site).unwrap(),
        &work.join("a"),
        &options,
    )
    .unwrap();
    assert_eq!(first.encoded, first.passages);
    assert!(first.passages > 4, "the Markdown page splits into passages");

    // Edit one page; the rebuild encodes that page's passages only.
    let page = site.join("notes/readme.txt");
    std::fs::write(&page, "A changed note about tide pools and the moon.").unwrap();
    let docs = read_documents(&site).unwrap();
    let second = build_with_model(&model, &docs, &work.join("a"), &options).unwrap();
    assert_eq!(second.encoded, 1, "only the edited page's one passage");
    let again = build_with_model(&model, &docs, &work.join("a"), &options).unwrap();
    assert_eq!(again.encoded, 0);

    let clean = BuildOptions {
        cache: None,
        ..options.clone()
    };
    let fresh = build_with_model(&model, &docs, &work.join("b"), &clean).unwrap();
    assert_eq!(fresh.build, second.build);
    assert_eq!(files_of(&work.join("a")), files_of(&work.join("b")));
    assert_ne!(first.build, second.build);

    // The native search reads it: text query, hits with the edited page.
    let out = Command::new(env!("CARGO_BIN_EXE_splade"))
        .args([
            "site",
            "search",
            work.join("b").to_str().unwrap(),
            "tide pools moon",
            "--k",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hits"][0]["id"], "notes/readme.txt");
    assert!(json["files"].as_u64().unwrap() >= 2 && json["bytes"].as_u64().unwrap() > 0);
}

fn search_error(dir: &Path, tokens: &[u32]) -> String {
    let mut b = match Bundle::open(dir) {
        Ok(b) => b,
        Err(e) => return e.to_string(),
    };
    // The hits' fragments, and the first fragment whatever the hits.
    match b.search_tokens(tokens, 5).and_then(|hits| {
        hits.iter()
            .try_for_each(|h| b.passage(h.ordinal).map(drop))?;
        b.passage(0).map(drop)
    }) {
        Ok(()) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn damaged_or_mismatched_files_give_clear_errors() {
    let vecs = vectors(60, 50);
    let good = temp_dir("integrity-good");
    vector_bundle(&good, &vecs, 50, 1 << 20);
    assert_eq!(search_error(&good, &[1, 2]), "");
    let other = temp_dir("integrity-other");
    vector_bundle(&other, &vecs[1..], 50, 1 << 20);

    let case = |name: &str, damage: &dyn Fn(&Path)| -> String {
        let dir = temp_dir(&format!("integrity-{name}"));
        copy_dir(&good, &dir);
        damage(&dir);
        search_error(&dir, &[1, 2])
    };
    let shard = "postings/0.bin";
    let missing = case("missing", &|d| std::fs::remove_file(d.join(shard)).unwrap());
    assert!(missing.contains("`postings/0.bin` is missing"), "{missing}");
    let truncated = case("truncated", &|d| {
        let bytes = std::fs::read(d.join(shard)).unwrap();
        std::fs::write(d.join(shard), &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(truncated.contains("corrupt or truncated"), "{truncated}");
    let corrupt = case("corrupt", &|d| {
        let mut raw = gunzip(&std::fs::read(d.join(shard)).unwrap()).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 0x40;
        std::fs::write(d.join(shard), gzip(&raw).unwrap()).unwrap();
    });
    assert!(corrupt.contains("corrupt (checksum mismatch)"), "{corrupt}");
    let foreign = case("foreign", &|d| {
        std::fs::copy(other.join(shard), d.join(shard)).unwrap();
    });
    assert!(foreign.contains("is from another build"), "{foreign}");
    let fragment = case("fragment", &|d| {
        std::fs::copy(other.join("fragments/0.bin"), d.join("fragments/0.bin")).unwrap();
    });
    assert!(
        fragment.contains("`fragments/0.bin` is from another build"),
        "{fragment}"
    );
    let renamed = case("renamed", &|d| {
        std::fs::copy(d.join("fragments/1.bin"), d.join("fragments/0.bin")).unwrap();
    });
    assert!(
        renamed.contains("holds file number 1, expected 0"),
        "{renamed}"
    );
    let manifest = case("manifest", &|d| {
        std::fs::write(d.join("manifest.json"), "{\"format\": 1").unwrap()
    });
    assert!(manifest.contains("not a bundle manifest"), "{manifest}");
}

#[test]
fn tokenizer_from_another_model_is_refused() {
    let model = model();
    let work = temp_dir("fingerprint");
    let docs = vec![SiteDocument {
        id: "a".into(),
        title: "Alpha".into(),
        url: "a.html".into(),
        text: "The quick brown fox.".into(),
    }];
    let options = BuildOptions::default();
    build_with_model(&model, &docs, &work, &options).unwrap();
    let mut b = Bundle::open(&work).unwrap();
    assert_eq!(b.query_tokens("fox").unwrap().len(), 1);
    // The query tokenizer asset equals the model's on these texts: the same tokens and weights
    // (bundle ids number the sorted vocabulary, so they are compared as strings).
    let query = model.encoder.query_encoder();
    for text in [
        "The quick brown fox.",
        "Ünïcödé naïve café — 東京 emoji 😀 x²",
        "[CLS] [MASK] don't",
        "",
    ] {
        let mine = b.query_encoder().unwrap().encode(text).unwrap();
        let asset = b.query_encoder().unwrap().tokenizer();
        let mut got: Vec<(String, f32)> = mine
            .indices()
            .iter()
            .zip(mine.values())
            .map(|(&id, &w)| (asset.token(id).unwrap(), w))
            .collect();
        let theirs = query.encode(text).unwrap();
        let mut want: Vec<(String, f32)> = theirs
            .indices()
            .iter()
            .zip(theirs.values())
            .map(|(&id, &w)| (query.tokenizer().token(id).unwrap(), w))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want, "{text}");
    }
    let manifest = std::fs::read_to_string(work.join("manifest.json")).unwrap();
    let fp = &model.info.fingerprint;
    std::fs::write(
        work.join("manifest.json"),
        manifest.replace(fp.as_str(), "sha256:0000"),
    )
    .unwrap();
    let err = Bundle::open(&work)
        .unwrap()
        .query_tokens("fox")
        .unwrap_err()
        .to_string();
    assert!(err.contains("the bundle mixes two builds"), "{err}");
}

#[test]
fn hostile_pages_become_plain_text() {
    let dir = temp_dir("hostile");
    std::fs::write(
        dir.join("evil.html"),
        "<html><head><title>&lt;script&gt;alert(1)&lt;/script&gt; Notes</title>\
         <script>alert('head')</script><style>*{display:none}</style></head>\
         <body><nav>Home | About</nav><h1 onclick=\"x()\">Heading</h1>\
         <p>Safe <a href=\"javascript:alert(2)\">link</a> text<img src=x onerror=alert(3)>.</p>\
         <script type=\"text/html\"><p>not prose</p></script><!-- <p>comment</p> -->\
         <template><p>template</p></template><p>a < b and c > d</p><SCRIPT>alert(4)</SCRIPT >\
         <p hidden>hidden</p><div>end</div></body></html>",
    )
    .unwrap();
    let docs = read_documents(&dir).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].title, "<script>alert(1)</script> Notes");
    assert_eq!(
        docs[0].text,
        "Heading\n\nSafe link text.\n\na < b and c > d\n\nend"
    );

    let fixture = read_documents(&repo("tests/data/docs-folder")).unwrap();
    let page = fixture
        .iter()
        .find(|d| d.id == "notes/unsafe.html")
        .unwrap();
    assert_eq!(page.title, "Plant biology notes");
    assert!(!page.text.contains("__xss") && page.text.starts_with("Photosynthesis\n\n"));
    assert!(fixture
        .iter()
        .all(|d| !d.id.ends_with(".bin") && !d.id.ends_with(".json")));
}

/// Spans from `js/passages.js` (Node) for `texts` with its default count (UTF-16 length / 4).
fn js_spans(texts: &[String], max_tokens: usize) -> Option<Vec<Vec<(usize, usize)>>> {
    let module = repo("js/passages.js");
    let script = format!(
        "import {{ splitPassages }} from {module:?};\n\
         let input = ''; process.stdin.on('data', (d) => (input += d));\n\
         process.stdin.on('end', () => {{ const texts = JSON.parse(input);\n\
         console.log(JSON.stringify(texts.map((t) => splitPassages(t, {{ maxTokens: {max_tokens} }}).map((p) => [p.start, p.end])))); }});",
        module = module.to_string_lossy()
    );
    let mut child = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(texts).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn passages_equal_the_js_library() {
    let mut texts: Vec<String> = Vec::new();
    for path in [
        "README.md",
        "js/README.md",
        "tests/data/docs-folder/notes/solar-system.md",
        "src/site/FORMAT.md",
    ] {
        texts.push(std::fs::read_to_string(repo(path)).unwrap());
    }
    for line in std::fs::read_to_string(repo("tests/data/limit-small/corpus.jsonl"))
        .unwrap()
        .lines()
        .take(20)
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        texts.push(v["text"].as_str().unwrap().to_string());
    }
    // Edge cases: no spaces, sentence marks of several scripts, closers, CR/LF, NBSP and BOM
    // (JS whitespace), emoji (surrogate pairs cut by the character-count fallback), blank text.
    texts.push("x".repeat(700));
    texts.push("word ".repeat(400));
    texts.push("Ends here.\" Next!) And?] More… 文。中文！问？ done".repeat(30));
    texts.push("a\r\n\r\nb\n \t\n\nc\u{a0}d\u{feff}e\u{2028}f\u{85}g ".repeat(60));
    texts.push("😀😃😄 ".repeat(200) + &"🎉".repeat(300));
    texts.push("   \n\n  ".into());
    texts.push(String::new());
    let Some(expected) = js_spans(&texts, 40) else {
        panic!("node is needed to compare with js/passages.js");
    };
    for (text, js) in texts.iter().zip(expected) {
        let t = Utf16Text::new(text);
        let spans = split_passages(&t, 40, |s| Ok(s.encode_utf16().count().div_ceil(4))).unwrap();
        let rust: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(
            rust,
            js,
            "text starting {:?}",
            text.chars().take(40).collect::<String>()
        );
    }
}

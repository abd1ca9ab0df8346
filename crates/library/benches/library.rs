//! Library benchmark: ingest and index 1,000 generated documents (~5 MB),
//! reopen the cached index, then time BM25 queries.
//! `cargo bench -p council-library --bench library`

use council_library::Library;
use std::time::Instant;

const WORDS: [&str; 40] = [
    "pricing",
    "churn",
    "renewal",
    "discount",
    "pipeline",
    "margin",
    "quota",
    "segment",
    "onboarding",
    "retention",
    "enterprise",
    "midmarket",
    "payback",
    "forecast",
    "headcount",
    "runway",
    "attribution",
    "funnel",
    "expansion",
    "contract",
    "procurement",
    "security",
    "compliance",
    "roadmap",
    "latency",
    "integration",
    "support",
    "survey",
    "interview",
    "benchmark",
    "competitor",
    "positioning",
    "brand",
    "category",
    "incentive",
    "hiring",
    "capacity",
    "billing",
    "usage",
    "seat",
];

fn document(i: usize) -> String {
    // A deterministic pseudo-random walk over the vocabulary: ~5 KB each.
    let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = format!("# Report {i}\n\n");
    for para in 0..8 {
        for _ in 0..75 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
            out.push(' ');
        }
        out.push_str(&format!("figure {}.\n\n", (x % 1000) + para));
    }
    out
}

fn main() {
    let root = std::env::temp_dir().join(format!("council-library-bench-{}", std::process::id()));
    let docs = root.join("docs");
    let cache = root.join("cache");
    std::fs::create_dir_all(&docs).expect("temp dir");
    let mut bytes = 0;
    for i in 0..1000 {
        let d = document(i);
        bytes += d.len();
        std::fs::write(docs.join(format!("doc-{i:04}.md")), d).expect("write");
    }
    let start = Instant::now();
    let (lib, problems) = Library::load(std::slice::from_ref(&docs), &cache).expect("load");
    let build = start.elapsed();
    assert!(problems.is_empty() && !lib.index_was_cached);
    println!(
        "indexed {} documents ({:.1} MB) in {:.2} s",
        lib.documents().len(),
        bytes as f64 / 1e6,
        build.as_secs_f64()
    );

    let start = Instant::now();
    let (again, _) = Library::load(&[docs], &cache).expect("reload");
    println!(
        "second load with the cached index: {:.2} s (cached: {})",
        start.elapsed().as_secs_f64(),
        again.index_was_cached
    );

    let queries = [
        "should we raise prices for enterprise customers churn renewal",
        "pipeline coverage quota discount",
        "brand positioning category premium",
        "runway payback margin forecast",
        "security compliance procurement contract",
    ];
    let mut times = Vec::new();
    for i in 0..200 {
        let q = queries[i % queries.len()];
        let t = Instant::now();
        let hits = again.search(q, 5);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!hits.is_empty());
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "query latency over {} queries: mean {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        times.len(),
        mean,
        times[times.len() * 95 / 100],
        times[times.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&root);
}

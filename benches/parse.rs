//! Parsing service keys, against parsing the same bytes into a `serde_json::Value` (the floor:
//! every parse must at least read the JSON).

use std::hint::black_box;

use calm_credentials::ServiceKey;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const KEYS: [(&str, &str); 3] = [
    (
        "binding-secret",
        include_str!("../tests/fixtures/keys/binding-secret.json"),
    ),
    (
        "wrapped",
        include_str!("../tests/fixtures/keys/instance-secret-wrapped.json"),
    ),
    ("x509", include_str!("../tests/fixtures/keys/x509.json")),
];

fn parse(c: &mut Criterion) {
    for (name, text) in KEYS {
        let mut group = c.benchmark_group(format!("parse/{name}"));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function("serde_json::Value (baseline)", |b| {
            b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(text)).unwrap())
        });
        group.bench_function("ServiceKey::from_json", |b| {
            b.iter(|| ServiceKey::from_json(black_box(text)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);

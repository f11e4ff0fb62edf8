//! Multipart planning and the content-identity rules, without S3.

use std::collections::HashMap;

use filetrail_contract::OccurredAt;
use filetrail_stages::CopySettings;
use filetrail_stages::copy::{
    Basis, COPY_MARKER_METADATA, Checksum, ContentHeaders, ObjectInfo, Sameness, already_holds,
    compare_content, part_ranges, tagging_header, verify_copy,
};
use filetrail_stages::limits::{
    DEFAULT_COPY_PART_BYTES, MAX_PART_BYTES, MAX_PARTS, MAX_SINGLE_COPY_BYTES, MIN_PART_BYTES,
};
use proptest::prelude::*;

const GIB: u64 = 1024 * 1024 * 1024;

#[test]
fn default_settings_copy_in_one_call_up_to_five_gib() {
    let s = CopySettings::default();
    assert_eq!(s.multipart_threshold(), MAX_SINGLE_COPY_BYTES);
    assert_eq!(MAX_SINGLE_COPY_BYTES, 5 * GIB);
    assert!(!s.is_multipart(5 * GIB));
    assert!(s.is_multipart(5 * GIB + 1));
    assert_eq!(s.part_size(), DEFAULT_COPY_PART_BYTES);
}

#[test]
fn settings_are_clamped_to_what_s3_allows() {
    let s = CopySettings::new(u64::MAX, 1);
    assert_eq!(s.multipart_threshold(), MAX_SINGLE_COPY_BYTES);
    assert_eq!(s.part_size(), MIN_PART_BYTES);
    assert_eq!(CopySettings::new(0, u64::MAX).part_size(), MAX_PART_BYTES);
}

#[test]
fn ranges_of_known_sizes() {
    let mib = 1024 * 1024;
    assert_eq!(
        part_ranges(11 * mib, 5 * mib),
        vec![
            (0, 5 * mib - 1),
            (5 * mib, 10 * mib - 1),
            (10 * mib, 11 * mib - 1)
        ]
    );
    assert_eq!(part_ranges(10 * mib, 5 * mib).len(), 2);
    assert!(part_ranges(0, 5 * mib).is_empty());
    // 5 TiB (the S3 object limit) in 512 MiB parts would need 10,240: parts grow to fit 10,000.
    let ranges = part_ranges(5 * 1024 * GIB, DEFAULT_COPY_PART_BYTES);
    assert_eq!(ranges.len() as u64, MAX_PARTS);
    assert!(ranges[0].1 - ranges[0].0 + 1 > DEFAULT_COPY_PART_BYTES);
}

proptest! {
    #[test]
    fn ranges_cover_the_object_in_order_within_limits(
        size in 1u64..=5 * 1024 * GIB,
        part in MIN_PART_BYTES..=MAX_PART_BYTES,
    ) {
        let ranges = part_ranges(size, part);
        prop_assert!(!ranges.is_empty());
        prop_assert!(ranges.len() as u64 <= MAX_PARTS);
        prop_assert_eq!(ranges[0].0, 0);
        prop_assert_eq!(ranges[ranges.len() - 1].1, size - 1);
        for pair in ranges.windows(2) {
            prop_assert_eq!(pair[1].0, pair[0].1 + 1, "contiguous");
        }
        for (i, (first, last)) in ranges.iter().enumerate() {
            let len = last - first + 1;
            prop_assert!(len <= MAX_PART_BYTES);
            if i + 1 < ranges.len() {
                prop_assert!(len >= MIN_PART_BYTES, "only the last part may be small");
            }
        }
    }
}

fn object(size: u64, etag: &str, checksum: Option<(&'static str, &str)>) -> ObjectInfo {
    ObjectInfo {
        bucket: "b".into(),
        key: "k".into(),
        size,
        etag: format!("\"{etag}\""),
        last_modified: OccurredAt::from_millis(1_700_000_000_000),
        version_id: None,
        checksum: checksum.map(|(algorithm, value)| Checksum {
            algorithm,
            value: value.into(),
            full_object: !value.contains('-'),
        }),
        headers: ContentHeaders::default(),
        metadata: HashMap::new(),
    }
}

#[test]
fn content_identity_rules() {
    let same_etag = (object(5, "e1", None), object(5, "e1", None));
    assert_eq!(
        compare_content(&same_etag.0, &same_etag.1),
        Sameness::Same(Basis::ETag)
    );
    let sizes = (object(5, "e1", None), object(6, "e1", None));
    assert!(
        matches!(compare_content(&sizes.0, &sizes.1), Sameness::Different(r) if r.contains("sizes"))
    );
    // A common full-object checksum decides, even when ETags differ (multipart, SSE-KMS).
    let crc = (
        object(5, "e1", Some(("CRC32", "abc="))),
        object(5, "e2-3", Some(("CRC32", "abc="))),
    );
    assert_eq!(
        compare_content(&crc.0, &crc.1),
        Sameness::Same(Basis::Checksum)
    );
    let crc_diff = (
        object(5, "e1", Some(("CRC32", "abc="))),
        object(5, "e1", Some(("CRC32", "xyz="))),
    );
    assert!(matches!(
        compare_content(&crc_diff.0, &crc_diff.1),
        Sameness::Different(_)
    ));
    // Different algorithms or composite values are not comparable: fall back to ETags.
    let algos = (
        object(5, "e1", Some(("CRC32", "abc="))),
        object(5, "e2", Some(("CRC64NVME", "abc="))),
    );
    assert_eq!(compare_content(&algos.0, &algos.1), Sameness::Unknown);
    let composite = (
        object(5, "e1", Some(("CRC32", "abc=-2"))),
        object(5, "e1", Some(("CRC32", "xyz=-3"))),
    );
    assert_eq!(
        compare_content(&composite.0, &composite.1),
        Sameness::Same(Basis::ETag)
    );
}

#[test]
fn the_copy_record_counts_only_for_skipping_a_copy() {
    let src = object(5, "src-etag", None);
    let mut dst = object(5, "dst-etag-2", None);
    assert_eq!(already_holds(&src, &dst), Sameness::Unknown);
    dst.metadata
        .insert(COPY_MARKER_METADATA.into(), "src-etag".into());
    assert_eq!(already_holds(&src, &dst), Sameness::Same(Basis::CopyRecord));
    // A record of another source does not count.
    dst.metadata
        .insert(COPY_MARKER_METADATA.into(), "other".into());
    assert_eq!(already_holds(&src, &dst), Sameness::Unknown);
    // Verifying a fresh copy never trusts the record it just wrote.
    dst.metadata
        .insert(COPY_MARKER_METADATA.into(), "src-etag".into());
    assert_eq!(
        verify_copy(&src, &dst, "\"dst-etag-2\""),
        Ok(Basis::SizeOnly)
    );
}

#[test]
fn verification_refuses_a_changed_or_different_destination() {
    let src = object(5, "e1", None);
    assert_eq!(
        verify_copy(&src, &object(5, "e1", None), "e1"),
        Ok(Basis::ETag)
    );
    let err = verify_copy(&src, &object(5, "e9", None), "e1").expect_err("overwritten");
    assert!(err.contains("changed during the copy"), "{err}");
    let err = verify_copy(&src, &object(4, "e4", None), "e4").expect_err("truncated");
    assert!(err.contains("sizes differ"), "{err}");
}

#[test]
fn tags_are_encoded_as_url_query_parameters() {
    assert_eq!(tagging_header(&[]), None, "no tags, no header");
    let tags = vec![
        ("mission".to_owned(), "hermes".to_owned()),
        ("a=b&c".to_owned(), "x+y z/ü~".to_owned()),
    ];
    assert_eq!(
        tagging_header(&tags).as_deref(),
        Some("mission=hermes&a%3Db%26c=x%2By%20z%2F%C3%BC~")
    );
}

//! A service's volumes as the engine takes them: compose's split between bind
//! strings and the Mount API, plus the read-only config and secret files.
//!
//! Separate because the split has rules of its own (which options need the
//! Mount API) that nothing else in the create request shares.

use bollard::models::{Mount, MountBindOptions, MountTmpfsOptions, MountType, MountVolumeOptions};

use super::names::Names;
use crate::compose::model::{MountType as ComposeMount, Service};

/// Binds and mounts as compose splits them (`buildContainerVolumes`): a bind
/// mount or a named volume without options that need the Mount API goes as
/// a bind string (`SOURCE:TARGET:rw[,z][,rprivate][,nocopy]`; the engine
/// creates a missing host directory for it), the rest as mounts; plus the
/// read-only config and secret files.
pub(super) fn mounts(
    s: &Service,
    names: &dyn Names,
    files: &[(String, String)],
) -> (Vec<String>, Vec<Mount>) {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &s.volumes {
        let target = m.target.clone();
        let source = m.source.clone();
        let bind_string = |source: &str| {
            let mut options = vec![if m.read_only { "ro" } else { "rw" }.to_string()];
            if let Some(b) = &m.bind {
                options.extend(b.selinux.clone());
                options.extend(b.propagation.clone());
            }
            if m.volume.as_ref().is_some_and(|v| v.nocopy) {
                options.push("nocopy".to_string());
            }
            format!("{source}:{target}:{}", options.join(","))
        };
        let mount = match m.kind {
            ComposeMount::Bind => {
                let needs_mount_api = m
                    .bind
                    .as_ref()
                    .is_some_and(|b| !b.create_host_path || b.propagation.is_some());
                if !needs_mount_api && let Some(src) = &source {
                    binds.push(bind_string(src));
                    continue;
                }
                let bind = m.bind.clone().unwrap_or_default();
                Mount {
                    typ: Some(MountType::BIND),
                    source,
                    bind_options: bind.propagation.as_ref().map(|p| MountBindOptions {
                        propagation: p.parse().ok(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
            ComposeMount::Tmpfs => Mount {
                typ: Some(MountType::TMPFS),
                tmpfs_options: Some(MountTmpfsOptions {
                    size_bytes: m.tmpfs.as_ref().and_then(|t| t.size).map(|b| b.0),
                    mode: m.tmpfs.as_ref().and_then(|t| t.mode).map(i64::from),
                    ..Default::default()
                }),
                ..Default::default()
            },
            _ => {
                let needs_mount_api = m
                    .volume
                    .as_ref()
                    .is_some_and(|v| v.nocopy || v.subpath.is_some());
                // a named volume's engine name; none for an anonymous one
                let source = source.map(|key| names.volume(&key));
                if !needs_mount_api && let Some(src) = &source {
                    binds.push(bind_string(src));
                    continue;
                }
                Mount {
                    typ: Some(MountType::VOLUME),
                    source,
                    volume_options: m.volume.as_ref().map(|v| MountVolumeOptions {
                        no_copy: Some(v.nocopy),
                        subpath: v.subpath.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
        };
        mounts.push(Mount {
            target: Some(target),
            read_only: Some(m.read_only),
            consistency: m.consistency.clone(),
            ..mount
        });
    }
    for (source, target) in files {
        mounts.push(Mount {
            typ: Some(MountType::BIND),
            source: Some(source.clone()),
            target: Some(target.clone()),
            read_only: Some(true),
            ..Default::default()
        });
    }
    (binds, mounts)
}

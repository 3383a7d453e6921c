//! Volumes: create one from its canonical spec (the compose `volumes:`
//! entry), remove it.

use std::collections::{BTreeMap, HashMap};

use bollard::models::VolumeCreateRequest;

use super::merged_labels;
use crate::engine::{Engine, EngineError};
use crate::resource::spec::VolumeSpec;

/// Create the volume `name` from `spec` (driver, driver_opts, labels) with
/// `labels` added; its name. (The engine answers with the existing volume
/// when one of that name exists.)
pub async fn create(
    engine: &Engine,
    name: &str,
    spec: &VolumeSpec,
    labels: &BTreeMap<String, String>,
) -> Result<String, EngineError> {
    let opts: HashMap<String, String> = spec.driver_opts.clone().into_iter().collect();
    let request = VolumeCreateRequest {
        name: Some(name.to_string()),
        driver: Some(spec.driver.clone().unwrap_or_else(|| "local".to_string())),
        driver_opts: (!opts.is_empty()).then_some(opts),
        labels: Some(merged_labels(&spec.labels, labels)),
        ..Default::default()
    };
    let created = engine
        .docker()
        .create_volume(request)
        .await
        .map_err(|e| engine.error(&format!("create volume `{name}`"), e))?;
    Ok(created.name)
}

/// Remove the volume `name`; one already gone is fine. A volume still in use
/// fails with the engine's message.
pub async fn remove(engine: &Engine, name: &str) -> Result<(), EngineError> {
    match engine
        .docker()
        .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
        .await
    {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("remove volume `{name}`"), e);
            if err.is_not_found() { Ok(()) } else { Err(err) }
        }
    }
}

//! What runs take, learned per resolution from finished runs (`completedAt - createdAt`, an
//! exponential moving average), and the one "scout" run per resolution polled early while
//! nothing is learned; waiters wake on each change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use crate::lock::locked;

pub(super) struct RunTimes {
    /// Expected run time in ms by resolution.
    expected_ms: Mutex<HashMap<String, f64>>,
    /// Bumped whenever something is learned or a scout stops.
    generation: watch::Sender<u64>,
    /// Resolutions with nothing learned yet whose one scout run is polled from `first_poll`
    /// on; the other runs of that resolution wait until it has learned.
    scouting: Mutex<HashSet<String>>,
}

impl RunTimes {
    pub(super) fn new() -> Self {
        RunTimes {
            expected_ms: Mutex::new(HashMap::new()),
            generation: watch::channel(0).0,
            scouting: Mutex::new(HashSet::new()),
        }
    }

    pub(super) fn expected(&self, resolution: &str) -> Option<Duration> {
        locked(&self.expected_ms)
            .get(resolution)
            .map(|ms| Duration::from_millis(*ms as u64))
    }

    /// A finished run of `resolution` took `took_ms`; the new expected time.
    pub(super) fn learn(&self, resolution: &str, took_ms: f64) -> f64 {
        let ema = {
            let mut expected = locked(&self.expected_ms);
            let ema = expected.entry(resolution.to_string()).or_insert(took_ms);
            *ema = 0.7 * *ema + 0.3 * took_ms;
            *ema
        };
        self.changed();
        ema
    }

    /// What other instances learned (with Redis): taken where it differs by a ms or more.
    pub(super) fn take_remote(&self, remote: impl IntoIterator<Item = (String, f64)>) {
        let changed = {
            let mut expected = locked(&self.expected_ms);
            let mut changed = false;
            for (resolution, ms) in remote {
                let local = expected.entry(resolution).or_insert(-1.0);
                if (*local - ms).abs() >= 1.0 {
                    *local = ms;
                    changed = true;
                }
            }
            changed
        };
        if changed {
            self.changed();
        }
    }

    /// Wakes on each change.
    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn changed(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Whether this caller becomes the scout of `resolution` (none is here yet).
    pub(super) fn start_scouting(&self, resolution: &str) -> bool {
        locked(&self.scouting).insert(resolution.to_string())
    }

    /// The scout of `resolution` stopped; `wake`: the runs waiting for it look again.
    pub(super) fn stop_scouting(&self, resolution: &str, wake: bool) {
        locked(&self.scouting).remove(resolution);
        if wake {
            self.changed();
        }
    }

    /// Expected times in whole ms, for the stats.
    pub(super) fn rounded(&self) -> BTreeMap<String, f64> {
        locked(&self.expected_ms)
            .iter()
            .map(|(resolution, ms)| (resolution.clone(), ms.round()))
            .collect()
    }
}

//! A declared dataset's day in a bucket: its objects found by the dataset's file pattern,
//! judged by the same rules as a directory's (`layout`).

use std::path::PathBuf;

use chrono::NaiveDate;
use futures::TryStreamExt;

use super::Bucket;
use crate::error::LoadError;
use crate::files::layout::{Layout, PatternDay, Seen, number_parts};
use crate::files::listing::DayFiles;

impl Bucket {
    /// The objects of `date` as `layout` finds them.
    pub(crate) async fn list_day_in(
        &self,
        layout: &Layout,
        date: NaiveDate,
    ) -> Result<DayFiles, LoadError> {
        let Layout::Pattern { pattern, complete } = layout else {
            return self.list_day(date).await;
        };
        let pattern_day = PatternDay::new(pattern, complete, date);
        let start = pattern_day.listing_start();
        let (folder, own) = pattern_day.folder();
        let shown = PathBuf::from(format!("{}/{folder}", self.url.trim_end_matches('/')));
        let mut day =
            DayFiles::judged_by(date, &shown, layout.rule()).expecting(pattern.example(date));
        let mut parts = Vec::new();
        // The day's own folder is listed whole (every key under it); a folder shared with
        // other days from the day's first key, while keys start like the day's (object
        // stores list keys in order). A key is built part by part: a part holds no `/`.
        let folder_path = folder
            .split('/')
            .filter(|part| !part.is_empty())
            .fold(self.prefix.clone(), |path, part| path.join(part));
        let mut objects = if own {
            self.store.list(Some(&folder_path))
        } else {
            let first = folder_path.clone().join(pattern_day.name_prefix());
            self.store.list_with_offset(Some(&folder_path), &first)
        };
        while let Some(meta) = objects.try_next().await.map_err(|e| self.failed(e))? {
            let Some(relative) = self.relative_name(&meta.location) else {
                continue;
            };
            if !relative.starts_with(&start) {
                break;
            }
            let relative = relative.to_owned();
            if relative
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with('.'))
            {
                continue;
            }
            let top = !relative[start.len()..].contains('/');
            match pattern_day.classify(&relative, top) {
                Seen::Marker => day.found_marker(),
                Seen::Slot(slot) => {
                    day.add_slot(slot, self.display(&relative), None, Some(meta), &relative);
                }
                Seen::Part => parts.push((relative, meta)),
                Seen::Stray => day.add_stray(&relative),
                Seen::Other => {}
            }
        }
        for (slot, relative, meta) in number_parts(parts)? {
            day.add_slot(slot, self.display(&relative), None, Some(meta), &relative);
        }
        Ok(day)
    }
}

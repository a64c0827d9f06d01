// Big files in chunks: a regular file of at least --chunk-threshold bytes is copied as chunk tasks
// (byte ranges of --chunk-size) that any thread or worker node can take, so one huge file no
// longer holds one thread for hours.
//
// The target is built as a part file beside its name, created once (with its Lustre layout) and
// sized to the source; each chunk writes its range (holes stay holes), writes it back from this
// node, and then marks itself done in an xattr of the part file, where every node sees it. A chunk that finds every piece done
// finishes the file: metadata, then the rename into place, both idempotent, so that two finishers
// at once, or a chunk run again after a finisher died, end the same way, and the rename that lands
// counts the file once. The name never shows a half file, and no half file ever carries the
// source's mtime. A chunk that runs again (a worker killed -9) rewrites the same range; a parent
// task that runs again resends the same chunks rather than restart the part, and so does the next
// run after an interrupted one (the part is named after the file's path); a source that changes
// meanwhile abandons the part, and the next pass copies it anew. Chunks are cut at multiples of the
// part's Lustre stripe sizes.
#pragma once

#include <string>

#include "engine/task.h"
#include "fs/entry_meta.h"
#include "passes/entry_copy.h"
#include "passes/pass_context.h"

namespace lmover {

// Whether `meta` (a source regular file) is big enough to go in chunks.
bool wants_chunks(const PassContext& ctx, const EntryMeta& meta);

// Submits the chunk tasks (children of `parent`) that cover `size` bytes of `name` in pieces of
// `chunk` bytes; `part` is the part file they write into ("" when they only read).
void submit_chunk_tasks(const Task& parent, const std::string& name, const std::string& part, uint64_t size,
                        uint64_t chunk, TaskSink& sink);

// Starts the chunked copy of `from` into `to` (a new name, or one to be replaced): creates and
// sizes the part file and submits a chunk task per piece, children of `task`. Returns false, having
// changed nothing, when the target cannot hold the part file's marks (no user xattrs): the caller
// then copies the file whole. Throws FsError naming `rel`.
bool start_chunked_copy(const PassContext& ctx, EntryLocation from, EntryLocation to, const std::string& rel,
                        const Task& task, TaskSink& sink);

// An unchanged big file on the target (`name` in `dst_dir`) that still carries our marks: a run
// killed -9 between renaming it into place and dropping them. Drops them; one listing of its xattrs
// per big file otherwise. Throws FsError naming `rel`.
void drop_stale_marks(const PassContext& ctx, int dst_dir, const char* name, const std::string& rel);

// Runs one chunk task (TaskKind::kChunk). Throws FsError naming the file.
void copy_chunk(const PassContext& ctx, const Task& task);

}  // namespace lmover

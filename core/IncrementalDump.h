// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "PageAssembly.h"
#include "Result.h"

namespace Rewind
{

/// A dump CRIU took with memory tracking against a parent (criu dump
/// --track-mem --prev-images-dir): its pagemaps mark the pages that did
/// not change since the parent as in the parent, and its pages images hold
/// only those that changed. Rewind keeps every snapshot whole, so that any
/// one restores and deletes on its own: makeWhole() rewrites the pagemaps to
/// mark every page present and says, for the store, where each pages
/// image's pages come from.
class IncrementalDump
{
public:
    /// Name CRIU gives the link to the parent's images in the images directory.
    static constexpr const char *parentLinkName = "parent";

    /// imagesDirFd: the dump's images; parentImagesDirFd: the parent
    /// snapshot's pagemaps (whole, as every stored snapshot's are) as they
    /// were stored. Rewrites the pagemaps that reference the parent and
    /// removes CRIU's link to it; the assembly's paths are under "images/".
    /// An Error (a page the parent does not have, an entry it cannot read)
    /// leaves the images unusable for a snapshot.
    static Result<PageAssembly> makeWhole(int imagesDirFd, int parentImagesDirFd, qint64 parentSnapshot);
};

} // namespace Rewind

"""A directory whose reads of one file never answer, like a hung network mount.

    stuck_fs.py SOURCE MOUNTPOINT NAME MARKER

Mounts SOURCE at MOUNTPOINT (FUSE, read-only, in the foreground). Every file reads through
to SOURCE except NAME: its metadata is SOURCE's, but a read of it blocks for ever, the way
a read on a stuck NFS or SMB mount does. When the first such read arrives, MARKER is
created, so the test knows the reader is blocked in the kernel.

The test suite uses it for "SIGTERM while a file read blocks". No local file type can make
a read block (FIFOs and sockets are refused before they are read), so it takes a file
system that does not answer.
"""

import errno
import os
import sys
import threading

from fuse import FUSE, FuseOSError, Operations

STUCK_HANDLE = 2**31 - 1


class StuckFs(Operations):
    def __init__(self, source, stuck_name, marker):
        self.source = source
        self.stuck = "/" + stuck_name
        self.marker = marker
        self.never = threading.Event()

    def _real(self, path):
        return os.path.join(self.source, path.lstrip("/"))

    def getattr(self, path, fh=None):
        try:
            st = os.lstat(self._real(path))
        except FileNotFoundError:
            raise FuseOSError(errno.ENOENT)
        keys = ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid",
                "st_atime", "st_mtime", "st_ctime")
        return {key: getattr(st, key) for key in keys}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._real(path))

    def open(self, path, flags):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FuseOSError(errno.EROFS)
        if path == self.stuck:
            return STUCK_HANDLE
        return os.open(self._real(path), os.O_RDONLY)

    def read(self, path, size, offset, fh):
        if fh == STUCK_HANDLE:
            open(self.marker, "w").close()
            self.never.wait()
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        if fh != STUCK_HANDLE:
            os.close(fh)


if __name__ == "__main__":
    source, mountpoint, name, marker = sys.argv[1:5]
    FUSE(StuckFs(source, name, marker), mountpoint, foreground=True, ro=True)

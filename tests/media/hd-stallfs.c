/* hd-stallfs — a file system of one file whose reads wait: an archive share that stops answering
 * reads (NFS with a server gone, a SAN path failing over), for the tests.
 *
 *   hd-stallfs SOURCE GATE MOUNTPOINT
 *
 * Mounts (FUSE, in the foreground) MOUNTPOINT/data: SOURCE's bytes, read-only. Every open(2)
 * and read(2) of it, and every statvfs(2) of the file system, waits until the file GATE exists
 * (at most 60 s, then it answers anyway), so a reader is stuck for as long as the test wants.
 * stat(2) answers at once, as on a share whose attributes are cached (and the test itself looks
 * for the mount with it). Ends on SIGTERM or
 * `fusermount3 -u MOUNTPOINT`. */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

static char *bytes;
static gsize len;
static const char *gate;

static void
wait_for_gate (void)
{
  for (int i = 0; i < 6000 && access (gate, F_OK) != 0; i++)
    g_usleep (10 * 1000);
}

static int
stall_getattr (const char *path, struct stat *st, struct fuse_file_info *fi)
{
  memset (st, 0, sizeof *st);
  if (!strcmp (path, "/")) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else if (!strcmp (path, "/data")) {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = (off_t)len;
  } else {
    return -ENOENT;
  }
  return 0;
}

static int
stall_readdir (const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
               struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
  if (strcmp (path, "/"))
    return -ENOENT;
  fill (buf, ".", NULL, 0, 0);
  fill (buf, "..", NULL, 0, 0);
  fill (buf, "data", NULL, 0, 0);
  return 0;
}

static int
stall_open (const char *path, struct fuse_file_info *fi)
{
  if (strcmp (path, "/data"))
    return -ENOENT;
  if ((fi->flags & O_ACCMODE) != O_RDONLY)
    return -EACCES;
  wait_for_gate ();
  fi->direct_io = 1; /* every read comes here: none is answered from the page cache */
  return 0;
}

static int
stall_read (const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
  wait_for_gate ();
  if (off < 0 || (gsize)off >= len)
    return 0;
  gsize n = MIN (size, len - (gsize)off);
  memcpy (buf, bytes + off, n);
  return (int)n;
}

/* the share's free space: it waits for the gate as reads do (statvfs on a dead NFS server) */
static int
stall_statfs (const char *path, struct statvfs *st)
{
  wait_for_gate ();
  memset (st, 0, sizeof *st);
  st->f_bsize = st->f_frsize = 4096;
  st->f_blocks = st->f_bfree = st->f_bavail = 1 << 20; /* 4 GiB, all free */
  st->f_namemax = 255;
  return 0;
}

static const struct fuse_operations ops = {
  .statfs = stall_statfs,
  .getattr = stall_getattr,
  .readdir = stall_readdir,
  .open = stall_open,
  .read = stall_read,
};

int
main (int argc, char **argv)
{
  if (argc != 4) {
    g_printerr ("usage: hd-stallfs SOURCE GATE MOUNTPOINT\n");
    return 2;
  }
  g_autoptr (GError) e = NULL;
  if (!g_file_get_contents (argv[1], &bytes, &len, &e)) {
    g_printerr ("hd-stallfs: %s\n", e->message);
    return 1;
  }
  gate = argv[2];
  char *fargv[] = { argv[0], "-f", "-o", "ro,fsname=hd-stallfs,max_threads=8", argv[3], NULL };
  return fuse_main (5, fargv, &ops, NULL);
}

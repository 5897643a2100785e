package maildir

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openFile is os.OpenFile for the store's own files and folders, without
// the runtime's poller: os.OpenFile tries to register every descriptor
// with it, which costs four more system calls per open (fcntl to set and
// clear O_NONBLOCK around an epoll_ctl that regular files and folders
// always refuse). An APPEND opens a dozen files; os.NewFile on the
// blocking descriptor adds one fcntl.
func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	for {
		fd, err := unix.Open(path, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != unix.EINTR {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
}

// openRead is os.Open through openFile.
func openRead(path string) (*os.File, error) { return openFile(path, os.O_RDONLY, 0) }

// readFile is os.ReadFile through openFile.
func readFile(path string) ([]byte, error) {
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int
	if fi, err := f.Stat(); err == nil {
		size = int(fi.Size())
	}
	// One byte more than the size, so that a file read whole ends with
	// io.EOF at once rather than after a buffer grown for nothing.
	b := make([]byte, 0, size+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// statPath is os.Stat without the FileInfo it allocates: the stores ask
// whether a folder is there, and its times, several times a command. Its
// error is an *os.PathError, as os.Stat's.
func statPath(path string, st *unix.Stat_t) error {
	for {
		err := unix.Stat(path, st)
		if err == nil {
			return nil
		}
		if err != unix.EINTR {
			return &os.PathError{Op: "stat", Path: path, Err: err}
		}
	}
}

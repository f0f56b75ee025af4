package driver

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// MountState is what is at a path.
type MountState int

const (
	NotMounted MountState = iota
	Mounted
	Broken // a mount point whose FUSE daemon is gone: stat fails with ENOTCONN
)

func (s MountState) String() string {
	return [...]string{"not mounted", "mounted", "broken mount"}[s]
}

// Mounter is what the node server needs from the kernel. Tests use a fake mount table.
type Mounter interface {
	State(path string) (MountState, error)
	BindMount(src, dst string, readOnly bool) error
	Unmount(path string, lazy bool) error
}

// SysMounter uses /proc/self/mountinfo and the mount syscalls.
type SysMounter struct{ MountInfo string } // default /proc/self/mountinfo

func (m SysMounter) State(path string) (MountState, error) {
	path = filepath.Clean(path)
	if _, err := os.Stat(path); errors.Is(err, syscall.ENOTCONN) {
		return Broken, nil
	}
	name := m.MountInfo
	if name == "" {
		name = "/proc/self/mountinfo"
	}
	f, err := os.Open(name)
	if err != nil {
		return NotMounted, err
	}
	defer f.Close()
	points, err := ParseMountInfo(f)
	if err != nil {
		return NotMounted, err
	}
	if points[path] {
		return Mounted, nil
	}
	return NotMounted, nil
}

func (SysMounter) BindMount(src, dst string, readOnly bool) error {
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		return &os.PathError{Op: "bind mount " + src + " on", Path: dst, Err: err}
	}
	if readOnly {
		if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			_ = syscall.Unmount(dst, 0)
			return &os.PathError{Op: "remount read-only", Path: dst, Err: err}
		}
	}
	return nil
}

func (SysMounter) Unmount(path string, lazy bool) error {
	flags := 0
	if lazy {
		flags = syscall.MNT_DETACH
	}
	if err := syscall.Unmount(path, flags); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return &os.PathError{Op: "umount", Path: path, Err: err}
	}
	return nil
}

// ParseMountInfo returns the set of mount points in a mountinfo file (proc(5)); the 5th field,
// with its octal escapes (\040 for a space) undone.
func ParseMountInfo(r io.Reader) (map[string]bool, error) {
	points := map[string]bool{}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		points[filepath.Clean(unescapeOctal(fields[4]))] = true
	}
	return points, s.Err()
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

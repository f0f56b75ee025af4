// imgbuild assembles a linux/amd64 container image from local files, without a registry or a
// container engine, and writes it as a docker-archive tarball (manifest.json with RepoTags) that
// `ctr -n k8s.io images import` and `docker load` accept and that keeps its name.
//
//	imgbuild SPEC.json [SPEC.json ...]
//
// A spec names the image, its layers and its config; see type Spec. Every tar entry gets the
// spec's "created" time as mtime, numeric owners only and lexical order, so the same inputs give
// the same layer digests. For each image it prints one line: "<ref> <out> <config digest> <manifest digest>".
package main

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Spec describes one image.
type Spec struct {
	Ref     string  `json:"ref"`     // e.g. registry.k8s.io/kube-apiserver:v1.37.2
	Out     string  `json:"out"`     // archive to write (atomically)
	Created string  `json:"created"` // RFC 3339; image creation time and mtime of every file
	Layers  []Layer `json:"layers"`
	Config  Config  `json:"config"`
}

// Layer is one filesystem layer. Rootfs (a directory copied with its owners and modes) comes
// first, then Dirs, Files, Texts and Symlinks; missing parent directories are added as 0755 root.
type Layer struct {
	Comment  string    `json:"comment"` // history "created_by"
	Rootfs   string    `json:"rootfs,omitempty"`
	Exclude  []string  `json:"exclude,omitempty"` // rootfs-relative paths (and what is under them) to leave out
	Dirs     []Dir     `json:"dirs,omitempty"`
	Files    []File    `json:"files,omitempty"`
	Texts    []Text    `json:"texts,omitempty"`
	Symlinks []Symlink `json:"symlinks,omitempty"`
}

type Dir struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"` // may include sticky/setgid bits, e.g. 01777 = 1023
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
}

type File struct {
	Src    string            `json:"src"`
	Dst    string            `json:"dst"`
	Mode   uint32            `json:"mode"`
	UID    int               `json:"uid"`
	GID    int               `json:"gid"`
	Xattrs map[string]string `json:"xattrs,omitempty"` // name -> base64 value, e.g. security.capability
}

type Text struct {
	Dst     string `json:"dst"`
	Content string `json:"content"`
	Mode    uint32 `json:"mode"`
}

type Symlink struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

type Config struct {
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Cmd        []string          `json:"cmd,omitempty"`
	Env        []string          `json:"env,omitempty"`
	User       string            `json:"user,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: imgbuild SPEC.json [SPEC.json ...]")
		os.Exit(2)
	}
	for _, p := range os.Args[1:] {
		if err := buildFile(p); err != nil {
			fmt.Fprintf(os.Stderr, "imgbuild: %s: %v\n", p, err)
			os.Exit(1)
		}
	}
}

func buildFile(specPath string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var s Spec
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	created, err := time.Parse(time.RFC3339, s.Created)
	if err != nil {
		return fmt.Errorf("created: %w", err)
	}
	created = created.UTC()
	tag, err := name.NewTag(s.Ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("ref: %w", err)
	}

	tmpDir, err := os.MkdirTemp(filepath.Dir(s.Out), ".imgbuild-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)

	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      v1.Time{Time: created},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: s.Config.Entrypoint,
			Cmd:        s.Config.Cmd,
			Env:        s.Config.Env,
			User:       s.Config.User,
			WorkingDir: s.Config.WorkingDir,
			Labels:     s.Config.Labels,
		},
	})
	if err != nil {
		return err
	}
	for i, l := range s.Layers {
		tarPath := filepath.Join(tmpDir, fmt.Sprintf("layer%d.tar", i))
		if err := writeLayer(tarPath, l, created); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.Comment, err)
		}
		layer, err := tarball.LayerFromFile(tarPath)
		if err != nil {
			return err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   layer,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: l.Comment, Comment: "homelab tools/offline/imgbuild"},
		})
		if err != nil {
			return err
		}
	}

	tmpOut := filepath.Join(tmpDir, "image.tar")
	if err := tarball.WriteToFile(tmpOut, tag, img); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := os.Rename(tmpOut, s.Out); err != nil {
		return err
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return err
	}
	dig, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s %s %s\n", s.Ref, s.Out, cfg, dig)
	return nil
}

// layerWriter writes a deterministic tar, adding missing parent directories.
type layerWriter struct {
	tw      *tar.Writer
	mtime   time.Time
	seen    map[string]bool
	inodes  map[uint64]string // rootfs hardlinks: inode -> first path
	pending []entry
}

type entry struct {
	hdr *tar.Header
	src string // file content to copy, if a regular file
	txt *string
}

func writeLayer(out string, l Layer, mtime time.Time) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := &layerWriter{tw: tar.NewWriter(f), mtime: mtime, seen: map[string]bool{}, inodes: map[uint64]string{}}
	if l.Rootfs != "" {
		if err := w.rootfs(l.Rootfs, l.Exclude); err != nil {
			return err
		}
	}
	for _, d := range l.Dirs {
		if err := w.add(&tar.Header{Typeflag: tar.TypeDir, Name: clean(d.Path) + "/", Mode: tarMode(d.Mode), Uid: d.UID, Gid: d.GID}, "", nil); err != nil {
			return err
		}
	}
	for _, fl := range l.Files {
		st, err := os.Stat(fl.Src)
		if err != nil {
			return err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: clean(fl.Dst), Mode: tarMode(fl.Mode), Uid: fl.UID, Gid: fl.GID, Size: st.Size()}
		if len(fl.Xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			keys := make([]string, 0, len(fl.Xattrs))
			for k := range fl.Xattrs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v, err := base64.StdEncoding.DecodeString(fl.Xattrs[k])
				if err != nil {
					return fmt.Errorf("xattr %s: %w", k, err)
				}
				h.PAXRecords["SCHILY.xattr."+k] = string(v)
			}
			h.Format = tar.FormatPAX
		}
		if err := w.add(h, fl.Src, nil); err != nil {
			return err
		}
	}
	for _, t := range l.Texts {
		c := t.Content
		if err := w.add(&tar.Header{Typeflag: tar.TypeReg, Name: clean(t.Dst), Mode: tarMode(t.Mode), Size: int64(len(c))}, "", &c); err != nil {
			return err
		}
	}
	for _, s := range l.Symlinks {
		if err := w.add(&tar.Header{Typeflag: tar.TypeSymlink, Name: clean(s.Path), Linkname: s.Target, Mode: 0o777}, "", nil); err != nil {
			return err
		}
	}
	if err := w.tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// tarMode maps Unix permission bits (with setuid/setgid/sticky) to tar's mode field.
func tarMode(m uint32) int64 { return int64(m & 0o7777) }

func (w *layerWriter) parents(name string) error {
	dir := path.Dir(strings.TrimSuffix(name, "/"))
	if dir == "." || dir == "/" || w.seen[dir+"/"] {
		return nil
	}
	if err := w.parents(dir); err != nil {
		return err
	}
	return w.write(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}, "", nil)
}

func (w *layerWriter) add(h *tar.Header, src string, txt *string) error {
	if err := w.parents(h.Name); err != nil {
		return err
	}
	return w.write(h, src, txt)
}

func (w *layerWriter) write(h *tar.Header, src string, txt *string) error {
	if w.seen[h.Name] {
		if h.Typeflag == tar.TypeDir {
			return nil
		}
		return fmt.Errorf("duplicate entry %s", h.Name)
	}
	w.seen[h.Name] = true
	h.ModTime, h.AccessTime, h.ChangeTime = w.mtime, time.Time{}, time.Time{}
	h.Uname, h.Gname = "", ""
	if err := w.tw.WriteHeader(h); err != nil {
		return err
	}
	switch {
	case txt != nil:
		_, err := io.WriteString(w.tw, *txt)
		return err
	case src != "":
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(w.tw, f)
		if err == nil && n != h.Size {
			err = fmt.Errorf("%s changed size while copying", src)
		}
		return err
	}
	return nil
}

// rootfs copies a directory tree (lexical order) keeping numeric owners, modes and hardlinks.
// Device nodes, sockets and fifos are skipped: the runtime provides /dev.
func (w *layerWriter) rootfs(root string, exclude []string) error {
	ex := map[string]bool{}
	for _, e := range exclude {
		ex[clean(e)] = true
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if ex[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		h := &tar.Header{Name: rel, Mode: int64(fi.Mode().Perm())}
		if fi.Mode()&fs.ModeSetuid != 0 {
			h.Mode |= 0o4000
		}
		if fi.Mode()&fs.ModeSetgid != 0 {
			h.Mode |= 0o2000
		}
		if fi.Mode()&fs.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		if st != nil {
			h.Uid, h.Gid = int(st.Uid), int(st.Gid)
		}
		src := ""
		switch m := fi.Mode(); {
		case m.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, rel+"/"
		case m&fs.ModeSymlink != 0:
			h.Typeflag = tar.TypeSymlink
			if h.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
		case m.IsRegular():
			if st != nil && st.Nlink > 1 {
				if first, ok := w.inodes[st.Ino]; ok {
					h.Typeflag, h.Linkname = tar.TypeLink, first
					return w.write(h, "", nil)
				}
				w.inodes[st.Ino] = rel
			}
			h.Typeflag, h.Size, src = tar.TypeReg, fi.Size(), p
		default:
			return nil
		}
		return w.write(h, src, nil)
	})
}

// command:remote:CopyToRemote, with the semantics of pulumi-command 1.2.1 as its source
// reads (github.com/pulumi/pulumi-command, provider/pkg/provider/remote/), on the same
// Connection, dialing and logging as command:remote:Command (main.go). The v1.2.1 tag's
// copyController.go was not to be had; this follows the two versions read around it (one
// with StringAsset and a plain Mkdir of remotePath, the next with MkdirAll everywhere and
// remote assets added) where @pulumi/command 1.2.1's own docs (remote/copyToRemote.d.ts)
// say which applies: FileAsset, StringAsset and FileArchive sources, and "any necessary
// parent directories will be created automatically".
//
// copy.go: the inputs are connection (always secret), triggers (the only input marked
// replaceOnChanges), source (an asset or an archive) and remotePath; the outputs are the
// inputs and nothing else (CopyToRemoteOutputs embeds CopyToRemoteInputs).
//
// copyController.go:
//   - Check: infer's default check (the connection's defaults), then exactly one of an
//     asset or an archive, the asset path-based or text, the archive path-based; failures
//     are reported on the properties "asset" and "archive", as upstream names them; an
//     unknown source is not checked.
//   - Diff (infer's default): triggers replace; any other change (source, whose assets and
//     archives compare by hash, remotePath, connection) is an update.
//   - Create: nothing in a preview; else the copy, and an id of 8 random hex characters
//     (resource.NewUniqueHex("", 8, 0)).
//   - Update: nothing in a preview; else the copy runs again only when the source's hash or
//     remotePath changed: a change of connection alone updates the state, copies nothing.
//   - No Delete: destroying or replacing the resource leaves the remote files.
//   - The copy: one SSH connection (Connection.Dial: its retries, its proxy), one SFTP
//     client with concurrent writes (github.com/pkg/sftp). Where things land:
//
//     source | remotePath is a folder | remotePath does not exist    | remotePath is a file
//     dir    | remotePath/dir/...     | created, with parents; then  | error
//            |                        | remotePath/dir/...           |
//     dir/   | remotePath/...         | created, with parents; then  | error
//            |                        | remotePath/...               |
//     file   | remotePath/file        | remotePath (parents created) | overwritten
//     text   | error                  | remotePath (parents created) | overwritten
//
//     So a directory FileArchive lands in remotePath/<the folder's name>. The folder is
//     walked in lexical order (fs.WalkDir), missing folders created, files created or
//     truncated and overwritten in place (sftp Create), each streamed by File.ReadFrom
//     (concurrent 32 KiB writes: never a whole file in memory). A path of the tree that
//     exists remotely as the other kind (a file where the source has a folder) is an error.
//     Links in the source are followed. A relative source is relative to the provider's
//     working directory, a relative remotePath to the login's home.
//
// Where it differs from pulumi-command 1.2.1, on purpose:
//   - Modes: upstream writes each file with sftp's Create, mode 0666 before the server's
//     umask (an executable lands as 0644; an existing file keeps its mode; its issue #139,
//     asking for modes, is open). Ours sets the source's permission bits (and setuid,
//     setgid, sticky) on every file it writes, after the data, and on every folder of the
//     copied tree, deepest first after the contents (not on remotePath itself for a "dir/"
//     source): a bundle's binaries stay executable, private files private. A mode that
//     cannot be set (a file owned by another user) is one warning, not an error. Owners
//     and times are not copied (upstream copies neither).
//   - Progress: upstream logs a debug line. Ours sends ephemeral info lines: one when the
//     copy starts (files and bytes to copy), one every 2 s while bytes move (copied so far),
//     one at the end (time and rate): a few lines, whatever the number of files.
//   - Errors name the source and user@host:remotePath; a server without the sftp subsystem
//     says so; a source entry that is not a regular file or a link to one (a socket, a
//     pipe, a device, a link to a folder) is an error before it is opened (upstream opens
//     it: a pipe hangs); closing each remote file is checked.
//   - When the engine sends no hash for the source (it always does), Update copies.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

const remoteCopyToRemote = "command:remote:CopyToRemote"

// The input properties of command:remote:CopyToRemote (remote/copy.go's CopyToRemoteInputs).
var copyInputKeys = []resource.PropertyKey{"connection", "triggers", "source", "remotePath"}

// progressEvery is how often a running copy reports.
const progressEvery = 2 * time.Second

// copyInputs is remote.CopyToRemoteInputs.
type copyInputs struct {
	Connection *conn
	RemotePath *string
	Asset      *resource.Asset
	Archive    *resource.Archive
}

// hash is CopyToRemoteInputs.hash: the archive's, else the asset's.
func (c *copyInputs) hash() string {
	if c.Archive != nil {
		return c.Archive.Hash
	}
	if c.Asset != nil {
		return c.Asset.Hash
	}
	return ""
}

// decodeCopy reads a CopyToRemote's properties (inputs, or the state, which holds the same).
func decodeCopy(m resource.PropertyMap) (*copyInputs, *decoder) {
	d := &decoder{}
	c := &copyInputs{RemotePath: d.str(m, "remotePath", "remotePath")}
	if c.RemotePath == nil {
		if v, ok := m["remotePath"]; !ok || plain(v).IsNull() {
			d.fail("remotePath", "missing required property 'remotePath'")
		}
	}
	if obj := d.object(m, "connection", "connection"); obj != nil {
		c.Connection = d.conn(obj, "connection", true)
	} else if v, ok := m["connection"]; !ok || plain(v).IsNull() {
		d.fail("connection", "missing required property 'connection'")
	}
	if v, ok := d.value(m, "triggers", "triggers"); ok && !v.IsArray() {
		d.fail("triggers", "triggers must be an array, not %s", v.TypeString())
	}
	if v, ok := d.value(m, "source", "source"); ok {
		switch {
		case v.IsAsset():
			c.Asset = v.AssetValue()
			if !c.Asset.IsPath() && !c.Asset.IsText() {
				d.fail("asset", "asset must be a path-based file asset or a text asset")
			}
		case v.IsArchive():
			c.Archive = v.ArchiveValue()
			if !c.Archive.IsPath() {
				d.fail("archive", "archive must be a path to a file or directory")
			}
		default:
			d.fail("asset", "either asset or archive must be set (source is %s)", v.TypeString())
		}
	} else if v, present := m["source"]; !present || plain(v).IsNull() {
		d.fail("asset", "either asset or archive must be set")
	}
	for k := range m {
		known := false
		for _, key := range copyInputKeys {
			known = known || k == key
		}
		if !known && !strings.HasPrefix(string(k), "__") {
			d.fail(string(k), "unrecognized property '%s'", k)
		}
	}
	return c, d
}

// keepSecret is infer's apply_secrets for connection, tagged provider:"secret".
func keepSecret(m resource.PropertyMap, k resource.PropertyKey) {
	if v, ok := m[k]; ok && !v.IsNull() && !v.IsSecret() {
		m[k] = resource.MakeSecret(v)
	}
}

// ---------------------------------------------------------------------------------
// The protocol (copyController.go)

func (s *server) checkCopy(req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	_, d := decodeCopy(news)
	if len(d.failures) > 0 {
		return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: d.failures}, nil
	}
	news["connection"] = withDefaults(news["connection"], true)
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

func (s *server) createCopy(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, err := resource.NewUniqueHex("", 8, 0)
	if err != nil {
		return nil, err
	}
	out := props.Copy()
	keepSecret(out, "connection")
	if !req.GetPreview() {
		c, err := valid(decodeCopy, props)
		if err != nil {
			return nil, err
		}
		if err := s.copyToRemote(ctx, req.GetUrn(), c); err != nil {
			return nil, err
		}
	}
	properties, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: properties}, nil
}

func (s *server) updateCopy(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, news, err := oldsAndNews(req.GetOlds(), req.GetNews(), req.GetIgnoreChanges())
	if err != nil {
		return nil, err
	}
	out := news.Copy()
	keepSecret(out, "connection")
	if !req.GetPreview() {
		c, err := valid(decodeCopy, news)
		if err != nil {
			return nil, err
		}
		old, _ := decodeCopy(olds)
		remotePathChanged := old.RemotePath == nil || *old.RemotePath != *c.RemotePath
		if c.hash() == "" || c.hash() != old.hash() || remotePathChanged {
			if err := s.copyToRemote(ctx, req.GetUrn(), c); err != nil {
				return nil, err
			}
		}
	}
	properties, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: properties}, nil
}

// deleteCopy: CopyToRemote has no Delete, so infer's default leaves the remote files alone.
func (s *server) deleteCopy(*pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// ---------------------------------------------------------------------------------
// The copy (copyController.go's copyToRemote, sftpCopy, copyFile, copyDir, copyTextContent)

type copier struct {
	sc       *sftp.Client
	progress *progress
	// Modes that could not be set: the first error, and how many.
	chmodErr   error
	chmodFails int
}

func (s *server) copyToRemote(ctx context.Context, urn string, c *copyInputs) error {
	if c.Connection == nil || c.RemotePath == nil {
		return errors.New("no connection or remotePath")
	}
	user := defaultUser
	if c.Connection.User != nil {
		user = *c.Connection.User
	}
	target := fmt.Sprintf("%s@%s:%s", user, *c.Connection.Host, *c.RemotePath)
	source := "a text asset"
	if c.Archive != nil {
		source = c.Archive.Path
	} else if c.Asset != nil && c.Asset.IsPath() {
		source = c.Asset.Path
	}
	fail := func(err error) error {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return fmt.Errorf("copying %s to %s: %w", source, target, err)
	}

	client, closeAll, err := s.dial(ctx, urn, c.Connection)
	if err != nil {
		return fail(err)
	}
	defer closeAll()
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()

	// Concurrent writes, as upstream: each file is one ReadFrom, so a failed write cannot
	// leave a later offset written.
	sc, err := sftp.NewClient(client, sftp.UseConcurrentWrites(true))
	if err != nil {
		return fail(fmt.Errorf("could not start SFTP (the server needs its sftp subsystem): %w", err))
	}
	defer sc.Close()

	cp := &copier{sc: sc}
	if c.Asset != nil && c.Asset.IsText() {
		err = cp.copyText(c.Asset.Text, *c.RemotePath)
	} else {
		files, bytes := sourceSize(source)
		cp.progress = s.startProgress(ctx, urn, target, files, bytes)
		err = cp.sftpCopy(ctx, source, *c.RemotePath)
		cp.progress.finish(err == nil)
	}
	if err != nil {
		return fail(err)
	}
	if cp.chmodFails > 0 {
		s.log(ctx, diag.Warning, urn, fmt.Sprintf("copied to %s, but the mode of %d file(s) or folder(s) could not be set, e.g.: %v", target, cp.chmodFails, cp.chmodErr))
	}
	return nil
}

// remoteStat is upstream's: nil, nil when the path does not exist.
func (cp *copier) remoteStat(p string) (fs.FileInfo, error) {
	info, err := cp.sc.Stat(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("failed to stat remote path %s: %w", p, err)
	}
	if err != nil {
		return nil, nil
	}
	return info, nil
}

func (cp *copier) mkdirAll(p string) error {
	if err := cp.sc.MkdirAll(p); err != nil {
		return fmt.Errorf("failed to create remote directory %s: %w", p, err)
	}
	return nil
}

func (cp *copier) copyText(content, dest string) error {
	destStat, err := cp.remoteStat(dest)
	if err != nil {
		return err
	}
	if destStat != nil && destStat.IsDir() {
		return fmt.Errorf("remote path %s is a directory; when using a text asset, remotePath must be a file path", dest)
	}
	if destStat == nil {
		if err := cp.mkdirAll(path.Dir(dest)); err != nil {
			return err
		}
	}
	remote, err := cp.sc.Create(dest)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dest, err)
	}
	if _, err := remote.Write([]byte(content)); err != nil {
		_ = remote.Close()
		return fmt.Errorf("failed to write text content to remote path %s: %w", dest, err)
	}
	if err := remote.Close(); err != nil {
		return fmt.Errorf("failed to write text content to remote path %s: %w", dest, err)
	}
	return nil
}

// sftpCopy places a local file or folder per upstream's table (see the header).
func (cp *copier) sftpCopy(ctx context.Context, sourcePath, destPath string) error {
	srcInfo, err := os.Stat(sourcePath)
	if err != nil {
		return err
	}
	destStat, err := cp.remoteStat(destPath)
	if err != nil {
		return err
	}
	dest := destPath
	if !srcInfo.IsDir() {
		if destStat != nil && destStat.IsDir() {
			dest = path.Join(dest, filepath.Base(sourcePath))
		} else if destStat == nil {
			if err := cp.mkdirAll(path.Dir(dest)); err != nil {
				return err
			}
		}
		return cp.copyFile(sourcePath, dest, srcInfo)
	}
	if destStat != nil && !destStat.IsDir() {
		return fmt.Errorf("remote path %s exists but is not a directory", dest)
	}
	if destStat == nil {
		if err := cp.mkdirAll(dest); err != nil {
			return err
		}
	}
	contentsOnly := strings.HasSuffix(sourcePath, "/")
	if !contentsOnly {
		dest = path.Join(dest, filepath.Base(sourcePath))
	}
	return cp.copyDir(ctx, sourcePath, dest, !contentsOnly)
}

// modeBits are the bits a copy keeps: permissions, setuid, setgid, sticky.
func modeBits(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

func (cp *copier) chmodFailed(p string, err error) {
	cp.chmodFails++
	if cp.chmodErr == nil {
		cp.chmodErr = fmt.Errorf("%s: %w", p, err)
	}
}

// copyFile streams one regular file (info is its os.Stat) to dst, then sets its mode.
func (cp *copier) copyFile(src, dst string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, not a regular file or a link to one: not copied", src, kindOf(info.Mode()))
	}
	local, err := os.Open(src)
	if err != nil {
		return err
	}
	defer local.Close()
	remote, err := cp.sc.Create(dst)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dst, err)
	}
	_, err = remote.ReadFrom(&countingReader{r: local, remain: info.Size(), p: cp.progress})
	if err != nil {
		_ = remote.Close()
		return fmt.Errorf("failed to copy file %s to remote path %s: %w", src, dst, err)
	}
	// After the data: a write by a non-root user clears setuid/setgid.
	if err := remote.Chmod(modeBits(info.Mode())); err != nil {
		cp.chmodFailed(dst, err)
	}
	if err := remote.Close(); err != nil {
		return fmt.Errorf("failed to copy file %s to remote path %s: %w", src, dst, err)
	}
	cp.progress.fileDone()
	return nil
}

// kindOf names what a source entry that cannot be copied is (after following links).
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a link to a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return fmt.Sprintf("of type %s", m.Type())
}

// copyDir is upstream's walk; withRoot also sets the mode of dst itself (dst is the copy of
// src, not a folder the copy lands in).
func (cp *copier) copyDir(ctx context.Context, src, dst string, withRoot bool) error {
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	err := fs.WalkDir(os.DirFS(src), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		remotePath := path.Join(dst, rel)
		local := filepath.Join(src, rel)
		if !d.IsDir() {
			info, err := os.Stat(local) // follows links, as upstream's os.Open does
			if err != nil {
				return err
			}
			return cp.copyFile(local, remotePath, info)
		}
		dirInfo, err := cp.remoteStat(remotePath)
		if err != nil {
			return err
		}
		if dirInfo == nil {
			if err := cp.sc.Mkdir(remotePath); err != nil {
				return fmt.Errorf("failed to create remote directory %s: %w", remotePath, err)
			}
		} else if !dirInfo.IsDir() {
			return fmt.Errorf("remote path %s exists but is not a directory", remotePath)
		}
		if rel != "." || withRoot {
			info, err := d.Info()
			if err != nil {
				return err
			}
			dirs = append(dirs, dirMode{remotePath, modeBits(info.Mode())})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Folders last and deepest first, so a read-only folder is filled before it is closed.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := cp.sc.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			cp.chmodFailed(dirs[i].path, err)
		}
	}
	return nil
}

// sourceSize counts the regular files under p (following links) and their bytes.
func sourceSize(p string) (files, bytes int64) {
	info, err := os.Stat(p)
	if err != nil {
		return 0, 0
	}
	if !info.IsDir() {
		return 1, info.Size()
	}
	_ = fs.WalkDir(os.DirFS(p), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := os.Stat(filepath.Join(p, rel)); err == nil && info.Mode().IsRegular() {
			files++
			bytes += info.Size()
		}
		return nil
	})
	return files, bytes
}

// ---------------------------------------------------------------------------------
// Progress: ephemeral info lines, a few per copy whatever its number of files.

type progress struct {
	s                     *server
	ctx                   context.Context
	urn, target           string
	totalFiles, totalSize int64
	files, bytes          atomic.Int64
	start                 time.Time
	stop                  chan struct{}
	stopped               sync.WaitGroup
}

// countingReader counts what File.ReadFrom reads; Size lets ReadFrom write concurrently.
type countingReader struct {
	r      io.Reader
	remain int64
	p      *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.remain -= int64(n)
	if c.p != nil {
		c.p.bytes.Add(int64(n))
	}
	return n, err
}

func (c *countingReader) Size() int64 { return c.remain }

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func (s *server) startProgress(ctx context.Context, urn, target string, files, size int64) *progress {
	p := &progress{s: s, ctx: ctx, urn: urn, target: target, totalFiles: files, totalSize: size, start: time.Now(), stop: make(chan struct{})}
	s.status(ctx, diag.Info, urn, fmt.Sprintf("copying %d files (%s) to %s", files, mib(size), target))
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		last := int64(-1)
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				if b := p.bytes.Load(); b != last {
					last = b
					s.status(ctx, diag.Info, urn, p.line())
				}
			}
		}
	}()
	return p
}

func (p *progress) line() string {
	pct := 100.0
	if p.totalSize > 0 {
		pct = 100 * float64(p.bytes.Load()) / float64(p.totalSize)
	}
	return fmt.Sprintf("copied %d/%d files, %s of %s (%.0f%%) to %s", p.files.Load(), p.totalFiles, mib(p.bytes.Load()), mib(p.totalSize), pct, p.target)
}

func (p *progress) fileDone() {
	if p != nil {
		p.files.Add(1)
	}
}

func (p *progress) finish(ok bool) {
	close(p.stop)
	p.stopped.Wait()
	if !ok {
		p.s.status(p.ctx, diag.Info, p.urn, p.line()+": failed")
		return
	}
	took := time.Since(p.start)
	rate := float64(p.bytes.Load()) / (1 << 20) / max(took.Seconds(), 0.001)
	p.s.status(p.ctx, diag.Info, p.urn, fmt.Sprintf("copied %d files (%s) to %s in %.1fs (%.1f MiB/s)", p.files.Load(), mib(p.bytes.Load()), p.target, took.Seconds(), rate))
}

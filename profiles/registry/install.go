package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// DefaultRegistryURL is the public FHIR package registry.
const DefaultRegistryURL = "https://packages.fhir.org"

// Limits of Install: a package tarball, the whole unpacked package, one file.
const (
	maxTarball  = 256 << 20
	maxUnpacked = 1 << 30
)

// Install fetches name#version from a FHIR package registry (npm protocol:
// GET {registry}/{name}/{version} answers either the tarball or the version's
// metadata with dist.tarball) and unpacks it into cacheDir/name#version. It
// returns the package folder. An installed package is left as it is.
func Install(ctx context.Context, client *http.Client, registryURL, name, version, cacheDir string) (string, error) {
	if !validName(name) || !validName(version) {
		return "", fmt.Errorf("install %s#%s: invalid package name or version", name, version)
	}
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	dest := filepath.Join(cacheDir, name+"#"+version)
	if _, err := os.Stat(filepath.Join(dest, "package", "package.json")); err == nil {
		return dest, nil
	}
	base := strings.TrimRight(registryURL, "/")
	body, ctype, err := get(ctx, client, base+"/"+name+"/"+version)
	if err != nil {
		return "", fmt.Errorf("install %s#%s: %w", name, version, err)
	}
	if strings.Contains(ctype, "json") || (len(body) > 0 && body[0] == '{') {
		var meta struct {
			Dist struct {
				Tarball string `json:"tarball"`
			} `json:"dist"`
		}
		if err := json.Unmarshal(body, &meta); err != nil || meta.Dist.Tarball == "" {
			return "", fmt.Errorf("install %s#%s: registry answered JSON without dist.tarball", name, version)
		}
		if body, _, err = get(ctx, client, meta.Dist.Tarball); err != nil {
			return "", fmt.Errorf("install %s#%s: %w", name, version, err)
		}
	}
	tmp, err := os.MkdirTemp(cacheDir, ".install-*")
	if err != nil {
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return "", fmt.Errorf("install %s#%s: create cache: %w", name, version, err)
		}
		if tmp, err = os.MkdirTemp(cacheDir, ".install-*"); err != nil {
			return "", fmt.Errorf("install %s#%s: %w", name, version, err)
		}
	}
	defer os.RemoveAll(tmp)
	if err := unpack(body, tmp); err != nil {
		return "", fmt.Errorf("install %s#%s: %w", name, version, err)
	}
	var pj struct{ Name, Version string }
	data, err := os.ReadFile(filepath.Join(tmp, "package", "package.json"))
	if err != nil {
		return "", fmt.Errorf("install %s#%s: tarball has no package/package.json", name, version)
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return "", fmt.Errorf("install %s#%s: read package.json: %w", name, version, err)
	}
	if pj.Name != name || pj.Version != version {
		return "", fmt.Errorf("install %s#%s: registry sent %s#%s", name, version, pj.Name, pj.Version)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return "", fmt.Errorf("install %s#%s: %w", name, version, err)
	}
	return dest, nil
}

func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 214 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_", c)) {
			return false
		}
	}
	return true
}

func get(ctx context.Context, client *http.Client, url string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/tar+gzip, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTarball+1))
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxTarball {
		return nil, "", fmt.Errorf("GET %s: larger than %d bytes", url, maxTarball)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// unpack extracts a gzipped tarball into dir, refusing paths that leave dir,
// links and more than maxUnpacked bytes in total.
func unpack(tgz []byte, dir string) error {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return fmt.Errorf("not a gzip tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tarball: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(filepath.ToSlash(h.Name), "./"))
		if name == "." || strings.HasPrefix(name, "../") || name == ".." || path.IsAbs(name) {
			return fmt.Errorf("tarball entry %q leaves the package folder", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			total += h.Size
			if total > maxUnpacked {
				return errors.New("tarball unpacks to more than 1 GiB")
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			// links and devices are not part of FHIR packages; skip them
		}
	}
}

// Cached lists the packages in a package cache folder as "name#version".
func Cached(cacheDir string) ([]string, error) {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	des, err := os.ReadDir(cacheDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list package cache: %w", err)
	}
	var out []string
	for _, d := range des {
		if d.IsDir() && strings.Contains(d.Name(), "#") {
			out = append(out, d.Name())
		}
	}
	return out, nil
}

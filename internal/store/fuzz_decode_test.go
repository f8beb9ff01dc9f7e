package store

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeIndex feeds arbitrary bytes to the index.json decoder: it must
// refuse or return an index whose entries all carry valid digests.
func FuzzDecodeIndex(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`))
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:bb51701c356a5386e4c30dd058043320eeb29a7b200477df360e0efa9ab46145","size":954,"annotations":{"org.opencontainers.image.ref.name":"x","dev.stacklok.toolhive.local-build":"true"}}]}`))
	f.Add([]byte(`{"schemaVersion":1}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":null}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:zz","size":-1}]}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := DecodeIndex(bytes.NewReader(data))
		if err != nil {
			return
		}
		if idx.Manifests == nil {
			t.Fatal("decoded index has nil manifests")
		}
		for _, d := range idx.Manifests {
			if d.Digest.Validate() != nil || d.Size < 0 {
				t.Fatalf("accepted bad entry %+v", d)
			}
		}
		for _, tag := range TagsOf(idx) {
			if tag.Name == "" {
				t.Fatal("TagsOf returned an unnamed tag")
			}
		}
		if _, err := json.Marshal(idx); err != nil {
			t.Fatalf("decoded index does not marshal: %v", err)
		}
	})
}

// FuzzChildren feeds arbitrary bytes to the manifest decoder used by gc,
// fsck and push: every reference it returns must be valid.
func FuzzChildren(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:9b7fa98e8fa9b45f060dcec39dd02d1a72fb055b1acb56f69616cc8ec5a02446","size":772}]}`))
	f.Add([]byte(`{"manifests":[{"digest":"sha256:9b7fa98e8fa9b45f060dcec39dd02d1a72fb055b1acb56f69616cc8ec5a02446","size":1}]}`))
	f.Add([]byte(`{"layers":[{"digest":"md5:00","size":1}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		kids, err := Children(data)
		if err != nil {
			return
		}
		for _, d := range kids {
			if d.Digest.Validate() != nil || d.Size < 0 {
				t.Fatalf("accepted bad reference %+v", d)
			}
		}
	})
}

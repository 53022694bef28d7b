package validator

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

func TestZZDecode(t *testing.T) {
	if os.Getenv("ZZF") == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(os.Getenv("ZZF"))
	m, _, err := Decode(data, "", false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(m["differential"], "", " ")
	fmt.Println(string(b)[:1500])
}

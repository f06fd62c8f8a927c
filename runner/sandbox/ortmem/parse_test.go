package ortmem

import "testing"

func TestParse(t *testing.T) {
	st := parse("Limit=0\nInUse=12\nMaxInUse=4096\nTotalAllocated=8192\nNumAllocs=3\n")
	if st.MaxInUse != 4096 || st.InUse != 12 || st.TotalAllocated != 8192 || st.Limit != 0 || st.All["NumAllocs"] != "3" {
		t.Errorf("%+v", st)
	}
	if st := parse(""); st.MaxInUse != -1 || len(st.All) != 0 {
		t.Errorf("empty: %+v", st)
	}
}

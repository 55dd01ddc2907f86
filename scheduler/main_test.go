package scheduler_test

import (
	"os"
	"testing"

	"github.com/cometa-es/cometa/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

/** Statistics behind Graft's transfer diagnostics: negative-transfer verdicts. Spark-free. */
package io.graft.diagnostics;

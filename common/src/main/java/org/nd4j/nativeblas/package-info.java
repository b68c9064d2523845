/**
 * A compatibility shim between DL4J 1.0.0-M2.1 and ND4J M2.1, in the package DL4J looks in:
 * {@link org.nd4j.nativeblas.Nd4jCpu} answers the reflective lookup DL4J makes before it uses
 * oneDNN, from the class ND4J moved elsewhere. Nothing in Graft calls it directly;
 * {@link io.graft.model.OneDnn} is what turns oneDNN on. No other class belongs in this package.
 */
package org.nd4j.nativeblas;

package io.graft.onnx;

import java.util.Arrays;
import java.util.Objects;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An element-wise add, subtract, multiply or divide with NumPy broadcasting, as ONNX defines
 * {@code Add}/{@code Sub}/{@code Mul}/{@code Div}: between two inputs (a squeeze-excitation gate
 * {@code [N,C,1,1]} times its feature map {@code [N,C,H,W]}), or between one input and a constant
 * held in the configuration (a per-channel shift or scale, an input normalisation). DL4J's own
 * vertices cover neither: {@code ElementWiseVertex} needs equal shapes and has no divide, and
 * {@code ScaleVertex}/{@code ShiftVertex} take one scalar. The constant is not a parameter: it is
 * not trained and not averaged.
 */
public class BroadcastVertex extends GraphVertex {
  /** The operation; with a constant, {@code constantFirst} puts the constant on the left ({@code c - x}, {@code c / x}). */
  public enum Op { ADD, SUB, MUL, DIV }

  private Op op;
  private double[] constant;
  private long[] constantShape;
  private boolean constantFirst;

  /** For JSON. */
  public BroadcastVertex() {}

  /** Between the vertex's two inputs. */
  public BroadcastVertex(Op op) {
    this.op = op;
  }

  /** Between the vertex's one input and a constant of the given shape (batch dimension included, 1 there). */
  public BroadcastVertex(Op op, double[] constant, long[] constantShape, boolean constantFirst) {
    this.op = op;
    this.constant = constant;
    this.constantShape = constantShape;
    this.constantFirst = constantFirst;
  }

  public Op getOp() {
    return op;
  }

  public void setOp(Op op) {
    this.op = op;
  }

  public double[] getConstant() {
    return constant;
  }

  public void setConstant(double[] constant) {
    this.constant = constant;
  }

  public long[] getConstantShape() {
    return constantShape;
  }

  public void setConstantShape(long[] constantShape) {
    this.constantShape = constantShape;
  }

  public boolean isConstantFirst() {
    return constantFirst;
  }

  public void setConstantFirst(boolean constantFirst) {
    this.constantFirst = constantFirst;
  }

  @Override
  public BroadcastVertex clone() {
    return new BroadcastVertex(op, constant == null ? null : constant.clone(), constantShape == null ? null : constantShape.clone(), constantFirst);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BroadcastVertex v && op == v.op && constantFirst == v.constantFirst && Arrays.equals(constant, v.constant)
        && Arrays.equals(constantShape, v.constantShape);
  }

  @Override
  public int hashCode() {
    return Objects.hash(op, constantFirst, Arrays.hashCode(constant), Arrays.hashCode(constantShape));
  }

  @Override
  public long numParams(boolean backprop) {
    return 0;
  }

  @Override
  public int minVertexInputs() {
    return constant == null ? 2 : 1;
  }

  @Override
  public int maxVertexInputs() {
    return constant == null ? 2 : 1;
  }

  @Override
  public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx, INDArray paramsView,
      boolean initializeParams, DataType networkDatatype) {
    return new BroadcastOp(graph, name, idx, this, networkDatatype);
  }

  /** The larger of the inputs' types: broadcasting only ever grows size-1 dimensions. */
  @Override
  public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
    InputType out = vertexInputs[0];
    for (InputType t : vertexInputs) {
      if (t.arrayElementsPerExample() > out.arrayElementsPerExample()) {
        out = t;
      }
    }
    return out;
  }

  @Override
  public MemoryReport getMemoryReport(InputType... inputTypes) {
    InputType out = getOutputType(-1, inputTypes);
    return new LayerMemoryReport.Builder(null, BroadcastVertex.class, inputTypes[0], out).standardMemory(0, 0).workingMemory(0, 0, 0, 0)
        .cacheMemory(0, 0).build();
  }
}

package io.graft.onnx;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The running {@link BroadcastVertex}: forward with NumPy broadcasting, and a backward pass that
 * sums each input's gradient over the dimensions broadcasting stretched, so a gate of shape
 * {@code [N,C,1,1]} gets one gradient per channel.
 */
final class BroadcastOp extends BaseGraphVertex {
  private final BroadcastVertex conf;
  private INDArray constant;

  BroadcastOp(ComputationGraph graph, String name, int index, BroadcastVertex conf, DataType dataType) {
    super(graph, name, index, null, null, dataType);
    this.conf = conf;
  }

  @Override
  public boolean hasLayer() {
    return false;
  }

  @Override
  public Layer getLayer() {
    return null;
  }

  private INDArray constant() {
    if (constant == null) {
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        constant = Nd4j.create(conf.getConstant(), conf.getConstantShape(), 'c').castTo(dataType);
      }
    }
    return constant;
  }

  private INDArray left() {
    return conf.getConstant() != null && conf.isConstantFirst() ? constant() : inputs[0];
  }

  private INDArray right() {
    if (conf.getConstant() == null) {
      return inputs[1];
    }
    return conf.isConstantFirst() ? inputs[0] : constant();
  }

  @Override
  public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
    if (!canDoForward()) {
      throw new IllegalStateException("Cannot do forward pass: inputs not set (" + this + ")");
    }
    INDArray a = left();
    INDArray b = right();
    try (MemoryWorkspace ws = workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATIONS)) {
      return switch (conf.getOp()) {
        case ADD -> a.add(b);
        case SUB -> a.sub(b);
        case MUL -> a.mul(b);
        case DIV -> a.div(b);
      };
    }
  }

  @Override
  public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
    if (!canDoBackward()) {
      throw new IllegalStateException("Cannot do backward pass: errors not set (" + this + ")");
    }
    INDArray a = left();
    INDArray b = right();
    INDArray da;
    INDArray db;
    try (MemoryWorkspace ws = workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATION_GRAD)) {
      switch (conf.getOp()) {
        case ADD -> {
          da = epsilon;
          db = epsilon;
        }
        case SUB -> {
          da = epsilon;
          db = epsilon.neg();
        }
        case MUL -> {
          da = epsilon.mul(b);
          db = epsilon.mul(a);
        }
        default -> {
          da = epsilon.div(b);
          db = epsilon.mul(a).divi(b).divi(b).negi();
        }
      }
      da = reduceTo(da, a.shape());
      db = reduceTo(db, b.shape());
      INDArray[] out;
      if (conf.getConstant() == null) {
        out = new INDArray[] {workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, da), workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, db)};
      } else {
        out = new INDArray[] {workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, conf.isConstantFirst() ? db : da)};
      }
      return new Pair<>(null, out);
    }
  }

  /** Sums a broadcast gradient back to an input's shape (over the dimensions where that input has size 1). */
  static INDArray reduceTo(INDArray grad, long[] shape) {
    long[] g = grad.shape();
    List<Integer> dims = new ArrayList<>();
    int offset = g.length - shape.length;
    for (int d = 0; d < g.length; d++) {
      long have = d < offset ? 1 : shape[d - offset];
      if (have == 1 && g[d] != 1) {
        dims.add(d);
      }
    }
    INDArray r = dims.isEmpty() ? grad : grad.sum(true, dims.stream().mapToInt(Integer::intValue).toArray());
    return r.rank() == shape.length ? (r == grad ? r.dup() : r) : r.reshape(shape);
  }

  @Override
  public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
    if (backpropGradientsViewArray != null) {
      throw new IllegalStateException("A broadcast vertex has no parameters (" + this + ")");
    }
  }

  @Override
  public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState, int minibatchSize) {
    return maskArrays == null || maskArrays.length == 0 ? null : new Pair<>(maskArrays[0], currentMaskState);
  }

  @Override
  public String toString() {
    return "BroadcastVertex(name=\"" + vertexName + "\", op=" + conf.getOp() + (conf.getConstant() == null ? "" : ", constant") + ")";
  }
}

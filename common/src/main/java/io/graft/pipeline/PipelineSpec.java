package io.graft.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A pipeline file as written: its name, output root and stages. Unknown keys, duplicate or
 * malformed stage names and wrong shapes are refused here with the stage and key named.
 *
 * <pre>
 * name: nightly
 * root: hdfs://nn:8020/graft/nightly      # every stage writes under ROOT/STAGE/KEY
 * stages:
 *   - name: mnist
 *     type: import
 *     args: {format: idx, input: /data/mnist/train-images-idx3-ubyte, num-classes: 10}
 *   - name: pretrain
 *     type: pretrain
 *     config: {data: {train: "${mnist}"}, training: {epochs: 3}}
 *     publish: models/lenet            # a stable copy at ROOT/models/lenet
 * </pre>
 */
public record PipelineSpec(String name, String root, List<StageSpec> stages, String source) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]*");
  private static final Set<String> TOP_KEYS = Set.of("name", "root", "stages");
  private static final Set<String> STAGE_KEYS = Set.of("name", "type", "config", "args", "after", "sweep", "variants", "publish", "watch");

  /**
   * One stage as written.
   *
   * @param settings the job config ({@code config:}) or the command options ({@code args:})
   * @param after stages that must finish first although no setting refers to them
   * @param sweep setting path to the values it takes; the stage runs once per combination
   * @param variants named overlays merged into the settings (e.g. one per fine-tuning strategy)
   * @param publish a path under the root (or a URI) that receives a copy of the finished output
   * @param watch files or folders whose size and modification time join the stage's key
   */
  public record StageSpec(String name, StageType type, ObjectNode settings, List<String> after, Map<String, List<JsonNode>> sweep,
      Map<String, ObjectNode> variants, String publish, List<String> watch) {}

  /** Reads a pipeline file. */
  public static PipelineSpec read(Path file) {
    if (file == null || !Files.isRegularFile(file)) {
      throw new PipelineException("Pipeline file not found: " + file);
    }
    try {
      return parse(Files.readString(file), file.toString());
    } catch (IOException e) {
      throw new PipelineException("Cannot read pipeline file " + file + ": " + e.getMessage(), e);
    }
  }

  public static PipelineSpec parse(String yaml, String source) {
    JsonNode tree;
    try {
      tree = ConfigLoader.yaml().readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new PipelineException("Pipeline " + source + " is not valid YAML: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
    }
    if (tree == null || !tree.isObject()) {
      throw new PipelineException("Pipeline " + source + " must be a mapping with 'stages'");
    }
    unknownKeys(tree, TOP_KEYS, "Pipeline " + source);
    String name = tree.path("name").asText("pipeline");
    String root = tree.hasNonNull("root") ? tree.get("root").asText() : null;
    JsonNode stagesNode = tree.path("stages");
    if (!stagesNode.isArray() || stagesNode.isEmpty()) {
      throw new PipelineException("Pipeline " + source + " has no stages (expected a list under 'stages')");
    }
    List<StageSpec> stages = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    int index = 0;
    for (JsonNode s : stagesNode) {
      index++;
      String where = "stage " + index;
      if (!s.isObject()) {
        throw new PipelineException(where + " is not a mapping");
      }
      String stageName = s.path("name").asText(null);
      if (stageName == null || !NAME.matcher(stageName).matches()) {
        throw new PipelineException(where + ": 'name' must be letters, digits, '-' or '_' (got " + s.path("name") + ")");
      }
      where = "stage '" + stageName + "'";
      if (!names.add(stageName)) {
        throw new PipelineException(where + " is defined twice");
      }
      unknownKeys(s, STAGE_KEYS, where);
      if (!s.hasNonNull("type")) {
        throw new PipelineException(where + ": 'type' is required (types: " + StageType.names() + ")");
      }
      StageType type = StageType.of(s.get("type").asText(), stageName);
      String settingsKey = type.configured() ? "config" : "args";
      String otherKey = type.configured() ? "args" : "config";
      if (s.has(otherKey)) {
        throw new PipelineException(where + ": a " + type.command() + " stage takes '" + settingsKey + "', not '" + otherKey + "'");
      }
      ObjectNode settings = s.has(settingsKey) ? object(s.get(settingsKey), where + ": '" + settingsKey + "'") : ConfigLoader.yaml().createObjectNode();
      Map<String, List<JsonNode>> sweep = new LinkedHashMap<>();
      if (s.has("sweep")) {
        Iterator<Map.Entry<String, JsonNode>> it = object(s.get("sweep"), where + ": 'sweep'").fields();
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getValue().isArray() || e.getValue().isEmpty()) {
            throw new PipelineException(where + ": sweep '" + e.getKey() + "' must be a non-empty list of values");
          }
          List<JsonNode> values = new ArrayList<>();
          e.getValue().forEach(values::add);
          sweep.put(e.getKey(), values);
        }
      }
      Map<String, ObjectNode> variants = new LinkedHashMap<>();
      if (s.has("variants")) {
        Iterator<Map.Entry<String, JsonNode>> it = object(s.get("variants"), where + ": 'variants'").fields();
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!NAME.matcher(e.getKey()).matches()) {
            throw new PipelineException(where + ": variant name '" + e.getKey() + "' must be letters, digits, '-' or '_'");
          }
          variants.put(e.getKey(), object(e.getValue(), where + ": variant '" + e.getKey() + "'"));
        }
        if (variants.isEmpty()) {
          throw new PipelineException(where + ": 'variants' is empty");
        }
      }
      String publish = s.hasNonNull("publish") ? s.get("publish").asText() : null;
      if (publish != null && (!sweep.isEmpty() || !variants.isEmpty())) {
        throw new PipelineException(where + ": 'publish' needs a single output, but the stage sweeps or has variants");
      }
      stages.add(new StageSpec(stageName, type, settings, strings(s.get("after"), where + ": 'after'"), sweep, variants, publish,
          strings(s.get("watch"), where + ": 'watch'")));
    }
    return new PipelineSpec(name, root, List.copyOf(stages), source);
  }

  /** This pipeline with another root (the command's {@code --root}). */
  public PipelineSpec withRoot(String newRoot) {
    return newRoot == null ? this : new PipelineSpec(name, newRoot, stages, source);
  }

  /**
   * Applies {@code STAGE.key.path=value} overrides to the stages' settings ({@code config} or
   * {@code args}), the value parsed as YAML; returns a new spec and leaves this one as it was.
   */
  public PipelineSpec withOverrides(List<String> overrides) {
    List<StageSpec> copies = stages.stream().map(st -> new StageSpec(st.name(), st.type(), st.settings().deepCopy(), st.after(), st.sweep(),
        st.variants(), st.publish(), st.watch())).toList();
    for (String o : overrides) {
      int dot = o.indexOf('.');
      int eq = o.indexOf('=');
      if (dot <= 0 || eq < dot) {
        throw new PipelineException("Invalid --set '" + o + "': expected STAGE.key.path=value");
      }
      String stage = o.substring(0, dot);
      StageSpec spec = copies.stream().filter(s -> s.name().equals(stage)).findFirst()
          .orElseThrow(() -> new PipelineException("Invalid --set '" + o + "': no stage '" + stage + "' (stages: " + stageNames() + ")"));
      try {
        ConfigLoader.applyOverride(spec.settings(), o.substring(dot + 1));
      } catch (ConfigException e) {
        throw new PipelineException(e.getMessage());
      }
    }
    return new PipelineSpec(name, root, copies, source);
  }

  public String stageNames() {
    return String.join(", ", stages.stream().map(StageSpec::name).toList());
  }

  private static void unknownKeys(JsonNode node, Set<String> known, String where) {
    Iterator<String> it = node.fieldNames();
    while (it.hasNext()) {
      String k = it.next();
      if (!known.contains(k)) {
        throw new PipelineException(where + ": unknown key '" + k + "' (known: " + String.join(", ", known.stream().sorted().toList()) + ")");
      }
    }
  }

  private static ObjectNode object(JsonNode node, String where) {
    if (node == null || node.isNull()) {
      return ConfigLoader.yaml().createObjectNode();
    }
    if (!node.isObject()) {
      throw new PipelineException(where + " must be a mapping");
    }
    return (ObjectNode) node;
  }

  private static List<String> strings(JsonNode node, String where) {
    List<String> out = new ArrayList<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (node.isTextual()) {
      out.add(node.asText());
      return out;
    }
    if (!node.isArray()) {
      throw new PipelineException(where + " must be a list");
    }
    node.forEach(n -> out.add(n.asText()));
    return out;
  }
}

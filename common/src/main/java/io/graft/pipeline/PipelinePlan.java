package io.graft.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.graft.store.Storage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;

/**
 * A pipeline made concrete: every stage expanded into its instances (one per variant and sweep
 * combination), {@code ${stage}} references resolved to output folders, instances ordered so that
 * inputs come first, and each instance keyed.
 *
 * <p>An instance's <b>key</b> is the SHA-256 of its type, its settings with every reference
 * replaced by the referenced instance's key, and the size and modification time of the files it
 * watches (an import watches its input). So a key changes exactly when the stage's own settings,
 * any upstream key or watched input data change, and a change reruns the stage and everything
 * downstream. Its output folder is {@code ROOT/STAGE/KEY[0:12]}, so a run with other settings
 * never writes over a finished output.
 *
 * <p>References: {@code ${stage}} is the stage's output folder (a sweep's instances as a list, as a
 * whole value or list element); {@code ${stage[two-stage]}} or {@code ${stage[training.seed=1]}}
 * selects instances by variant or sweep value, {@code ${stage[*]}} all; {@code ${root}} the root.
 */
public final class PipelinePlan {
  private static final Pattern REF = Pattern.compile("\\$\\{([A-Za-z0-9][A-Za-z0-9_-]*)(?:\\[([^\\]]*)\\])?\\}");
  private static final ObjectMapper CANONICAL = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  /**
   * One run of a stage.
   *
   * @param name the stage name, with the variant and sweep values in brackets for sweeps
   * @param settings the config or command options, references resolved, output set
   * @param keyMaterial what the key hashes (references appear as {@code ${stage@key}})
   * @param output the instance's folder
   * @param upstream instances this one reads or waits for
   */
  public record Instance(String stage, String name, StageType type, String variant, Map<String, JsonNode> assignments,
      ObjectNode settings, ObjectNode keyMaterial, String key, String output, List<String> upstream, String publish) {
    public String shortKey() {
      return key.substring(0, 12);
    }
  }

  private final PipelineSpec spec;
  private final String root;
  private final List<Instance> instances;

  private PipelinePlan(PipelineSpec spec, String root, List<Instance> instances) {
    this.spec = spec;
    this.root = root;
    this.instances = instances;
  }

  public PipelineSpec spec() {
    return spec;
  }

  /** The qualified output root. */
  public String root() {
    return root;
  }

  /** Every instance, inputs before the stages that read them. */
  public List<Instance> instances() {
    return instances;
  }

  /**
   * Plans {@code spec}: checks references, cycles and input paths, and keys every instance.
   *
   * @param inputs which settings of each stage type name existing inputs
   *
   * @throws PipelineException naming the stage and what is wrong
   */
  public static PipelinePlan build(PipelineSpec spec, Storage storage, Function<StageType, InputKeys> inputs) {
    if (spec.root() == null || spec.root().isBlank()) {
      throw new PipelineException("Pipeline " + spec.source() + " has no root: set 'root:' in the file or pass --root");
    }
    String root;
    try {
      root = storage.qualify(storage.path(spec.root())).toString();
    } catch (IOException e) {
      throw new PipelineException("Cannot use pipeline root " + spec.root() + ": " + e.getMessage(), e);
    }
    Map<String, PipelineSpec.StageSpec> byName = new LinkedHashMap<>();
    spec.stages().forEach(s -> byName.put(s.name(), s));
    if (byName.containsKey("root")) {
      throw new PipelineException("stage 'root': the name is reserved for ${root}");
    }

    Map<String, List<Instance>> expanded = new LinkedHashMap<>();
    Map<String, Set<String>> deps = new LinkedHashMap<>();
    for (PipelineSpec.StageSpec s : spec.stages()) {
      Set<String> d = new LinkedHashSet<>();
      collectRefs(s.settings(), d);
      s.variants().values().forEach(v -> collectRefs(v, d));
      s.sweep().values().forEach(vs -> vs.forEach(v -> collectRefs(v, d)));
      d.remove("root");
      for (String a : s.after()) {
        d.add(a);
      }
      for (String ref : d) {
        if (!byName.containsKey(ref)) {
          throw new PipelineException("stage '" + s.name() + "' refers to '" + ref + "', but there is no such stage (stages: "
              + spec.stageNames() + ")");
        }
      }
      deps.put(s.name(), d);
    }

    List<String> order = StageGraph.order(spec, deps);
    List<Instance> all = new ArrayList<>();
    Set<String> produced = new LinkedHashSet<>();
    for (String stageName : order) {
      PipelineSpec.StageSpec s = byName.get(stageName);
      List<Instance> mine = new ArrayList<>();
      for (Combination c : combinations(s)) {
        ObjectNode settings = c.settings();
        List<String> upstream = new ArrayList<>();
        for (String dep : deps.get(stageName)) {
          expanded.get(dep).forEach(i -> upstream.add(i.name()));
        }
        String where = "stage '" + c.name() + "'";
        ObjectNode keyed = (ObjectNode) resolve(settings, (ref, sel) -> ref.equals("root") ? List.of("${root}")
            : select(expanded.get(ref), ref, sel, where).stream().map(i -> "${" + ref + "@" + i.key() + "}").toList(), where);
        ObjectNode material = CANONICAL.createObjectNode();
        material.put("type", s.type().command());
        material.set("settings", keyed);
        ObjectNode watched = material.putObject("watch");
        InputKeys keys = inputs.apply(s.type());
        for (String w : StageInputs.watchList(s, settings, keys)) {
          watched.put(w, StageInputs.fingerprint(storage, w, where));
        }
        String key = sha256(material);
        String output0 = root + "/" + stageName + "/" + key.substring(0, 12);
        ObjectNode resolved = (ObjectNode) resolve(settings, (ref, sel) -> ref.equals("root") ? List.of(root)
            : select(expanded.get(ref), ref, sel, where).stream().map(Instance::output).toList(), where);
        StageInputs.checkInputs(resolved, keys, storage, where, produced);
        String output = injectOutput(s.type(), resolved, output0, root, storage, where);
        produced.add(output);
        mine.add(new Instance(stageName, c.name(), s.type(), c.variant(), c.assignments(), resolved, material, key, output,
            List.copyOf(upstream), s.publish()));
      }
      expanded.put(stageName, mine);
      all.addAll(mine);
    }
    return new PipelinePlan(spec, root, List.copyOf(all));
  }

  /** The stage's instances by name (a stage without sweep has one). */
  public List<Instance> instancesOf(String stage) {
    return instances.stream().filter(i -> i.stage().equals(stage)).toList();
  }

  /** Where the pipeline keeps its lock and run summaries. */
  public String stateDir() {
    return root + "/_graft";
  }

  /** The path a published output lands at: under the root unless it is a URI or absolute. */
  public String publishPath(Instance i) {
    String p = i.publish();
    return Storage.hasScheme(p) || p.startsWith("/") ? p : root + "/" + p;
  }

  private record Combination(String name, String variant, Map<String, JsonNode> assignments, ObjectNode settings) {}

  private static List<Combination> combinations(PipelineSpec.StageSpec s) {
    List<Map.Entry<String, ObjectNode>> variants = new ArrayList<>(s.variants().entrySet());
    if (variants.isEmpty()) {
      variants.add(null);
    }
    List<Map<String, JsonNode>> grid = new ArrayList<>();
    grid.add(new LinkedHashMap<>());
    for (Map.Entry<String, List<JsonNode>> axis : s.sweep().entrySet()) {
      List<Map<String, JsonNode>> next = new ArrayList<>();
      for (Map<String, JsonNode> g : grid) {
        for (JsonNode v : axis.getValue()) {
          Map<String, JsonNode> m = new LinkedHashMap<>(g);
          m.put(axis.getKey(), v);
          next.add(m);
        }
      }
      grid = next;
    }
    List<Combination> out = new ArrayList<>();
    for (Map.Entry<String, ObjectNode> variant : variants) {
      for (Map<String, JsonNode> g : grid) {
        ObjectNode settings = s.settings().deepCopy();
        List<String> label = new ArrayList<>();
        if (variant != null) {
          merge(settings, variant.getValue());
          label.add(variant.getKey());
        }
        for (Map.Entry<String, JsonNode> e : g.entrySet()) {
          setPath(settings, e.getKey(), e.getValue().deepCopy(), s.name());
          label.add(e.getKey() + "=" + e.getValue().asText());
        }
        String name = label.isEmpty() ? s.name() : s.name() + "[" + String.join(",", label) + "]";
        out.add(new Combination(name, variant == null ? null : variant.getKey(), Map.copyOf(g), settings));
      }
    }
    return out;
  }

  private static void merge(ObjectNode into, ObjectNode overlay) {
    Iterator<Map.Entry<String, JsonNode>> it = overlay.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode existing = into.get(e.getKey());
      if (existing instanceof ObjectNode eo && e.getValue() instanceof ObjectNode vo) {
        merge(eo, vo);
      } else {
        into.set(e.getKey(), e.getValue().deepCopy());
      }
    }
  }

  private static void setPath(ObjectNode node, String path, JsonNode value, String stage) {
    String[] parts = path.split("\\.");
    for (int i = 0; i < parts.length - 1; i++) {
      JsonNode child = node.get(parts[i]);
      if (child == null || child.isNull()) {
        child = node.putObject(parts[i]);
      } else if (!child.isObject()) {
        throw new PipelineException("stage '" + stage + "': sweep '" + path + "': '" + parts[i] + "' is not a section");
      }
      node = (ObjectNode) child;
    }
    node.set(parts[parts.length - 1], value);
  }

  private static void collectRefs(JsonNode node, Set<String> into) {
    if (node.isTextual()) {
      Matcher m = REF.matcher(node.asText());
      while (m.find()) {
        into.add(m.group(1));
      }
    } else {
      node.forEach(child -> collectRefs(child, into));
    }
  }

  private interface RefResolver {
    List<String> resolve(String stage, String selector);
  }

  private static JsonNode resolve(JsonNode node, RefResolver refs, String where) {
    if (node instanceof ObjectNode o) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      o.fields().forEachRemaining(e -> out.set(e.getKey(), resolve(e.getValue(), refs, where)));
      return out;
    }
    if (node instanceof ArrayNode a) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      for (JsonNode child : a) {
        JsonNode r = resolve(child, refs, where);
        if (child.isTextual() && r.isArray()) {
          out.addAll((ArrayNode) r);
        } else {
          out.add(r);
        }
      }
      return out;
    }
    if (!node.isTextual() || !node.asText().contains("${")) {
      return node;
    }
    String text = node.asText();
    Matcher whole = REF.matcher(text);
    if (whole.matches()) {
      List<String> values = refs.resolve(whole.group(1), whole.group(2));
      if (values.size() == 1 && whole.group(2) == null) {
        return TextNode.valueOf(values.get(0));
      }
      ArrayNode list = JsonNodeFactory.instance.arrayNode();
      values.forEach(list::add);
      return list;
    }
    Matcher m = REF.matcher(text);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      List<String> values = refs.resolve(m.group(1), m.group(2));
      if (values.size() != 1) {
        throw new PipelineException(where + ": '" + m.group() + "' in \"" + text + "\" names " + values.size()
            + " outputs; inside a longer string a reference must name one (select it with ${stage[variant,key=value]})");
      }
      m.appendReplacement(sb, Matcher.quoteReplacement(values.get(0)));
    }
    m.appendTail(sb);
    if (REF.matcher(text).replaceAll("").contains("${")) {
      throw new PipelineException(where + ": malformed reference in \"" + text + "\" (expected ${stage} or ${stage[selector]})");
    }
    return TextNode.valueOf(sb.toString());
  }

  private static List<Instance> select(List<Instance> candidates, String stage, String selector, String where) {
    if (selector == null || selector.isBlank() || selector.equals("*")) {
      return candidates;
    }
    List<Instance> out = new ArrayList<>();
    for (Instance i : candidates) {
      boolean match = true;
      for (String term : selector.split(",")) {
        term = term.trim();
        int eq = term.indexOf('=');
        if (eq > 0) {
          JsonNode v = i.assignments().get(term.substring(0, eq));
          match &= v != null && v.asText().equals(term.substring(eq + 1));
        } else {
          match &= term.equals(i.variant());
        }
      }
      if (match) {
        out.add(i);
      }
    }
    if (out.isEmpty()) {
      throw new PipelineException(where + ": ${" + stage + "[" + selector + "]} matches none of " + stage + "'s outputs ("
          + String.join(", ", candidates.stream().map(Instance::name).toList()) + ")");
    }
    return out;
  }

  /** Sets the stage's output option; returns the instance's folder. */
  private static String injectOutput(StageType type, ObjectNode settings, String output, String root, Storage storage, String where) {
    String target = type.outputChild() == null ? output : output + "/" + type.outputChild();
    if (type == StageType.FETCH_DATA) {
      // fetch-data writes with java.io to a local folder; a cache folder of the user's choosing is fine too
      if (settings.hasNonNull("dest")) {
        try {
          return storage.qualify(storage.path(settings.get("dest").asText())).toString();
        } catch (IOException e) {
          throw new PipelineException(where + ": cannot use dest " + settings.get("dest").asText() + ": " + e.getMessage(), e);
        }
      }
      if (!root.startsWith("file:")) {
        throw new PipelineException(where + ": fetch-data writes to the local disk but the root is " + root + "; set args.dest to a local folder");
      }
      settings.put("dest", new Path(output).toUri().getPath());
      return output;
    }
    if (settings.has(type.outputKey())) {
      throw new PipelineException(where + ": '" + type.outputKey() + "' is set by the pipeline (" + target + "); remove it");
    }
    settings.put(type.outputKey(), target);
    return output;
  }

  static String sha256(JsonNode material) {
    try {
      byte[] bytes = CANONICAL.writeValueAsString(CANONICAL.treeToValue(material, Object.class)).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

}

package io.graft.spark;

import io.graft.model.OneDnn;
import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prepares each executor JVM before its first task: DL4J's oneDNN layers ({@link OneDnn}, from
 * {@value OneDnn#SETTING}). Registered in {@code spark.plugins} by {@link GraftSpark}, so it runs on
 * standalone, YARN and Kubernetes executors and in the embedded local[*] executor alike.
 */
public final class GraftPlugin implements SparkPlugin {
  private static final Logger LOG = LoggerFactory.getLogger(GraftPlugin.class);

  @Override
  public DriverPlugin driverPlugin() {
    return null;
  }

  @Override
  public ExecutorPlugin executorPlugin() {
    return new ExecutorPlugin() {
      @Override
      public void init(PluginContext ctx, Map<String, String> extraConf) {
        OneDnn.Status s = OneDnn.configure(ctx.conf().get(OneDnn.SETTING, "auto"));
        LOG.info("Graft executor {}: {}", ctx.executorID(), s.reason());
      }
    };
  }
}

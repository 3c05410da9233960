// GENERATED FILE: written by `swift run embed-defaults` from pricing/ and policies/; do not edit.
// BuiltInDefaultsTests (Tests/WanRouteTests/Defaults) fails while this copy and those directories differ.

/// The repository's pricing tables and policies, compiled into the binary.
enum BuiltInDefaults {
    static let pricing: [SourceFile] = [
        SourceFile(name: "built-in:pricing/aimlapi.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "aimlapi",
    "name": "AI/ML API",
    "adapter": true,
    "docs": "https://docs.aimlapi.com"
  },
  "billing": {
    "basis": "unknown",
    "notes": "The provider publishes no billing rule; estimates show no billable seconds and no cost."
  },
  "limits": {
    "url": {
      "schemes": [
        "https",
        "data"
      ]
    }
  },
  "offers": [
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": null,
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://docs.aimlapi.com",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; responses carry meta.usage.credits_used. Supply your contract price."
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "580p",
      "price_per_second": null,
      "quality": 65,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 42
      },
      "source": {
        "url": "https://docs.aimlapi.com",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; responses carry meta.usage.credits_used. Supply your contract price."
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": null,
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://docs.aimlapi.com",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; responses carry meta.usage.credits_used. Supply your contract price."
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": null,
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://docs.aimlapi.com",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; responses carry meta.usage.credits_used. Supply your contract price."
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "580p",
      "price_per_second": null,
      "quality": 65,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 42
      },
      "source": {
        "url": "https://docs.aimlapi.com",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; responses carry meta.usage.credits_used. Supply your contract price."
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": null,
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://docs.aimlapi.com",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; responses carry meta.usage.credits_used. Supply your contract price."
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/apixo.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "apixo",
    "name": "APIXO",
    "adapter": true,
    "docs": "https://apixo.ai/docs"
  },
  "billing": {
    "basis": "reference-seconds",
    "increment_seconds": "1",
    "rounding": "up",
    "minimum_seconds": "5",
    "cap_seconds": "120",
    "notes": "Billed per second of the reference video detected from video_urls[0], at least 5 s and at most 120 s. APIXO does not say how a fraction of a second bills; we round up to whole seconds so an estimate is never below the bill."
  },
  "limits": {
    "video": {
      "formats": [
        "mp4",
        "mov",
        "m4v"
      ]
    },
    "url": {
      "schemes": [
        "http",
        "https"
      ]
    }
  },
  "offers": [
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": {
        "amount": "0.04",
        "currency": "USD"
      },
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://apixo.ai/docs",
        "confidence": "published",
        "read_on": "2026-11-20",
        "note": "APIXO's Wan 2.2 Animate API page, Billing section"
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.08",
        "currency": "USD"
      },
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://apixo.ai/docs",
        "confidence": "published",
        "read_on": "2026-11-20",
        "note": "APIXO's Wan 2.2 Animate API page, Billing section"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": {
        "amount": "0.04",
        "currency": "USD"
      },
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://apixo.ai/docs",
        "confidence": "published",
        "read_on": "2026-11-20",
        "note": "APIXO's Wan 2.2 Animate API page, Billing section"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.08",
        "currency": "USD"
      },
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://apixo.ai/docs",
        "confidence": "published",
        "read_on": "2026-11-20",
        "note": "APIXO's Wan 2.2 Animate API page, Billing section"
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/dashscope-cn.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "dashscope-cn",
    "name": "DashScope",
    "region": "China",
    "adapter": true,
    "docs": "https://dashscope.aliyuncs.com/api/v1/services/aigc/image2video/video-synthesis"
  },
  "billing": {
    "basis": "output-seconds",
    "increment_seconds": "0.1",
    "rounding": "up",
    "failed_tasks_free": true,
    "notes": "Billed on the seconds of output generated (usage.video_duration, a decimal such as 5.2); we round up to 0.1 s. Failed tasks are free. No minimum or cap is documented. Output is 720p in both modes: wan-std renders 15 fps, wan-pro 25 fps. New accounts get 50 free seconds, which estimates do not deduct."
  },
  "limits": {
    "video": {
      "formats": [
        "mp4",
        "avi",
        "mov"
      ],
      "duration_seconds": {
        "min": "2",
        "max": "30"
      },
      "side_pixels": {
        "min": 200,
        "max": 2048
      },
      "aspect_ratio": {
        "min": "1:3",
        "max": "3:1"
      },
      "max_bytes": 200000000
    },
    "image": {
      "formats": [
        "jpeg",
        "png",
        "bmp",
        "webp"
      ],
      "side_pixels": {
        "min": 200,
        "max": 4096
      },
      "aspect_ratio": {
        "min": "1:3",
        "max": "3:1"
      },
      "max_bytes": 5000000
    },
    "url": {
      "schemes": [
        "http",
        "https"
      ],
      "ascii_only": true
    }
  },
  "offers": [
    {
      "behavior": "animate",
      "mode": "wan-std",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.4",
        "currency": "CNY"
      },
      "quality": 80,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 28
      },
      "source": {
        "url": "third-party price table (no public address)",
        "confidence": "third-party",
        "read_on": "2026-11-20",
        "note": "third-party price tables; Alibaba publishes no animate-move price in the sources we read"
      }
    },
    {
      "behavior": "animate",
      "mode": "wan-pro",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.6",
        "currency": "CNY"
      },
      "quality": 90,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 45
      },
      "source": {
        "url": "third-party price table (no public address)",
        "confidence": "third-party",
        "read_on": "2026-11-20",
        "note": "third-party price tables; Alibaba publishes no animate-move price in the sources we read"
      }
    },
    {
      "behavior": "replace",
      "mode": "wan-std",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.6",
        "currency": "CNY"
      },
      "quality": 80,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 28
      },
      "source": {
        "url": "https://help.aliyun.com/zh/model-studio/wan-animate-mix-api",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "wan-pro",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.9",
        "currency": "CNY"
      },
      "quality": 90,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 45
      },
      "source": {
        "url": "https://help.aliyun.com/zh/model-studio/wan-animate-mix-api",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/dashscope-intl.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "dashscope-intl",
    "name": "DashScope",
    "region": "international",
    "adapter": true,
    "docs": "https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/image2video/video-synthesis"
  },
  "billing": {
    "basis": "output-seconds",
    "increment_seconds": "0.1",
    "rounding": "up",
    "failed_tasks_free": true,
    "notes": "Billed on the seconds of output generated (usage.video_duration, a decimal such as 5.2); we round up to 0.1 s. Failed tasks are free. No minimum or cap is documented. Output is 720p in both modes: wan-std renders 15 fps, wan-pro 25 fps."
  },
  "limits": {
    "video": {
      "formats": [
        "mp4",
        "avi",
        "mov"
      ],
      "duration_seconds": {
        "min": "2",
        "max": "30"
      },
      "side_pixels": {
        "min": 200,
        "max": 2048
      },
      "aspect_ratio": {
        "min": "1:3",
        "max": "3:1"
      },
      "max_bytes": 200000000
    },
    "image": {
      "formats": [
        "jpeg",
        "png",
        "bmp",
        "webp"
      ],
      "side_pixels": {
        "min": 200,
        "max": 4096
      },
      "aspect_ratio": {
        "min": "1:3",
        "max": "3:1"
      },
      "max_bytes": 5000000
    },
    "url": {
      "schemes": [
        "http",
        "https"
      ],
      "ascii_only": true
    }
  },
  "offers": [
    {
      "behavior": "animate",
      "mode": "wan-std",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.12",
        "currency": "USD"
      },
      "quality": 80,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 28
      },
      "source": {
        "url": "third-party price table (no public address)",
        "confidence": "third-party",
        "read_on": "2026-11-20",
        "note": "a gateway's price map; not on Alibaba's own pages in the sources we read"
      }
    },
    {
      "behavior": "animate",
      "mode": "wan-pro",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.18",
        "currency": "USD"
      },
      "quality": 90,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 45
      },
      "source": {
        "url": "third-party price table (no public address)",
        "confidence": "third-party",
        "read_on": "2026-11-20",
        "note": "a gateway's price map; not on Alibaba's own pages in the sources we read"
      }
    },
    {
      "behavior": "replace",
      "mode": "wan-std",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.18",
        "currency": "USD"
      },
      "quality": 80,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 28
      },
      "source": {
        "url": "third-party price table (no public address)",
        "confidence": "third-party",
        "read_on": "2026-11-20",
        "note": "a gateway's price map; not on Alibaba's own pages in the sources we read"
      }
    },
    {
      "behavior": "replace",
      "mode": "wan-pro",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.26",
        "currency": "USD"
      },
      "quality": 90,
      "latency": {
        "queue_seconds": 15,
        "seconds_per_output_second": 45
      },
      "source": {
        "url": "third-party price table (no public address)",
        "confidence": "third-party",
        "read_on": "2026-11-20",
        "note": "a gateway's price map; not on Alibaba's own pages in the sources we read"
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/exchange-rates.json", text: #"""
{
  "kind": "exchange-rates",
  "version": 1,
  "base": "USD",
  "rates": [
    {
      "currency": "CNY",
      "usd_per_unit": "0.1406",
      "read_on": "2026-11-20",
      "source": "reference USD/CNY rate of the day (7.11 CNY to the dollar); update this file when the rate moves"
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/fal.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "fal",
    "name": "fal.ai",
    "adapter": false,
    "docs": "https://fal.ai/models/fal-ai/wan/v2.2-14b/animate/replace"
  },
  "billing": {
    "basis": "output-frames",
    "fps": 16,
    "rounding": "up",
    "failed_tasks_free": true,
    "notes": "Replace: billed per second of output video, counted at 16 frames per second; only successful outputs are billed. We round up to whole frames. Animate (move): price not read, so unknown. No adapter yet: quote only."
  },
  "limits": {},
  "offers": [
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": null,
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://fal.ai/models/fal-ai/wan/v2.2-14b/animate/move",
        "confidence": "unknown",
        "read_on": "2026-12-02",
        "note": "fal serves animate at fal-ai/wan/v2.2-14b/animate/move; its price was not found in the sources we read (they price replace only), so none is shipped: overlay your contract price."
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "580p",
      "price_per_second": null,
      "quality": 65,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 42
      },
      "source": {
        "url": "https://fal.ai/models/fal-ai/wan/v2.2-14b/animate/move",
        "confidence": "unknown",
        "read_on": "2026-12-02",
        "note": "fal serves animate at fal-ai/wan/v2.2-14b/animate/move; its price was not found in the sources we read (they price replace only), so none is shipped: overlay your contract price."
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": null,
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://fal.ai/models/fal-ai/wan/v2.2-14b/animate/move",
        "confidence": "unknown",
        "read_on": "2026-12-02",
        "note": "fal serves animate at fal-ai/wan/v2.2-14b/animate/move; its price was not found in the sources we read (they price replace only), so none is shipped: overlay your contract price."
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": {
        "amount": "0.04",
        "currency": "USD"
      },
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://fal.ai/models/fal-ai/wan/v2.2-14b/animate/replace/llms.txt",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "580p",
      "price_per_second": {
        "amount": "0.06",
        "currency": "USD"
      },
      "quality": 65,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 42
      },
      "source": {
        "url": "https://fal.ai/models/fal-ai/wan/v2.2-14b/animate/replace/llms.txt",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.08",
        "currency": "USD"
      },
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://fal.ai/models/fal-ai/wan/v2.2-14b/animate/replace/llms.txt",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/modellix.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "modellix",
    "name": "Modellix",
    "adapter": true,
    "docs": "https://docs.modellix.ai"
  },
  "billing": {
    "basis": "unknown",
    "notes": "The provider publishes no billing rule; estimates show no billable seconds and no cost."
  },
  "limits": {
    "video": {
      "formats": [
        "mp4",
        "avi",
        "mov"
      ],
      "duration_seconds": {
        "min": "2",
        "max": "30"
      },
      "side_pixels": {
        "min": 200,
        "max": 2048
      },
      "aspect_ratio": {
        "min": "1:3",
        "max": "3:1"
      },
      "max_bytes": 200000000
    },
    "image": {
      "formats": [
        "jpeg",
        "png",
        "bmp",
        "webp"
      ],
      "side_pixels": {
        "min": 200,
        "max": 4096
      },
      "aspect_ratio": {
        "min": "1:3",
        "max": "3:1"
      },
      "max_bytes": 5000000
    },
    "url": {
      "schemes": [
        "http",
        "https"
      ],
      "ascii_only": true
    }
  },
  "offers": [
    {
      "behavior": "animate",
      "mode": "wan-std",
      "resolution": "720p",
      "price_per_second": null,
      "quality": 80,
      "latency": {
        "queue_seconds": 30,
        "seconds_per_output_second": 28
      },
      "source": {
        "url": "https://docs.modellix.ai",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; Modellix's catalog (GET /api/v1/models) returns a price per model. Supply your contract price."
      }
    },
    {
      "behavior": "animate",
      "mode": "wan-pro",
      "resolution": "720p",
      "price_per_second": null,
      "quality": 90,
      "latency": {
        "queue_seconds": 30,
        "seconds_per_output_second": 45
      },
      "source": {
        "url": "https://docs.modellix.ai",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; Modellix's catalog (GET /api/v1/models) returns a price per model. Supply your contract price."
      }
    },
    {
      "behavior": "replace",
      "mode": "wan-std",
      "resolution": "720p",
      "price_per_second": null,
      "quality": 80,
      "latency": {
        "queue_seconds": 30,
        "seconds_per_output_second": 28
      },
      "source": {
        "url": "https://docs.modellix.ai",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; Modellix's catalog (GET /api/v1/models) returns a price per model. Supply your contract price."
      }
    },
    {
      "behavior": "replace",
      "mode": "wan-pro",
      "resolution": "720p",
      "price_per_second": null,
      "quality": 90,
      "latency": {
        "queue_seconds": 30,
        "seconds_per_output_second": 45
      },
      "source": {
        "url": "https://docs.modellix.ai",
        "confidence": "unknown",
        "read_on": "2026-11-20",
        "note": "Not published; Modellix's catalog (GET /api/v1/models) returns a price per model. Supply your contract price."
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/runware.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "runware",
    "name": "Runware",
    "adapter": false,
    "docs": "https://runware.ai/docs/models/alibaba-wan2-2-animate.md"
  },
  "billing": {
    "basis": "output-seconds",
    "increment_seconds": "1",
    "rounding": "up",
    "notes": "A per-second price with no minimum or cap; Runware does not say how a fraction of a second bills, so we round up to whole seconds. No adapter yet: quote only."
  },
  "limits": {},
  "offers": [
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": {
        "amount": "0.010",
        "currency": "USD"
      },
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://runware.ai/docs/models/alibaba-wan2-2-animate.md",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "580p",
      "price_per_second": {
        "amount": "0.014",
        "currency": "USD"
      },
      "quality": 65,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 42
      },
      "source": {
        "url": "https://runware.ai/docs/models/alibaba-wan2-2-animate.md",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.0212",
        "currency": "USD"
      },
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://runware.ai/docs/models/alibaba-wan2-2-animate.md",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": {
        "amount": "0.010",
        "currency": "USD"
      },
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://runware.ai/docs/models/alibaba-wan2-2-animate.md",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "580p",
      "price_per_second": {
        "amount": "0.014",
        "currency": "USD"
      },
      "quality": 65,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 42
      },
      "source": {
        "url": "https://runware.ai/docs/models/alibaba-wan2-2-animate.md",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.0212",
        "currency": "USD"
      },
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://runware.ai/docs/models/alibaba-wan2-2-animate.md",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:pricing/wavespeed.json", text: #"""
{
  "kind": "pricing",
  "version": 1,
  "provider": {
    "id": "wavespeed",
    "name": "WaveSpeedAI",
    "adapter": false,
    "docs": "https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-animate"
  },
  "billing": {
    "basis": "reference-seconds",
    "increment_seconds": "1",
    "rounding": "up",
    "minimum_seconds": "5",
    "cap_seconds": "120",
    "notes": "Billed per second of the reference video, at least 5 s and at most 120 s; we round a fraction of a second up. No adapter yet: quote only."
  },
  "limits": {},
  "offers": [
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": {
        "amount": "0.04",
        "currency": "USD"
      },
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-animate",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "animate",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.08",
        "currency": "USD"
      },
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-animate",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "480p",
      "price_per_second": {
        "amount": "0.04",
        "currency": "USD"
      },
      "quality": 55,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 35
      },
      "source": {
        "url": "https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-animate",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    },
    {
      "behavior": "replace",
      "mode": "standard",
      "resolution": "720p",
      "price_per_second": {
        "amount": "0.08",
        "currency": "USD"
      },
      "quality": 75,
      "latency": {
        "queue_seconds": 60,
        "seconds_per_output_second": 50
      },
      "source": {
        "url": "https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-animate",
        "confidence": "published",
        "read_on": "2026-11-20"
      }
    }
  ]
}

"""#),
    ]

    static let policies: [SourceFile] = [
        SourceFile(name: "built-in:policies/balanced.json", text: #"""
{
  "kind": "policy",
  "version": 1,
  "name": "balanced",
  "description": "Half cost, three tenths quality, one fifth latency, each normalised across the offers that qualify, among providers wanroute can submit to.",
  "objective": {
    "weights": {
      "cost": 0.5,
      "quality": 0.3,
      "latency": 0.2
    }
  },
  "constraints": {
    "min_confidence": "third-party",
    "allow_quote_only": false
  },
  "failover": {
    "alternates": 2,
    "on": ["rate-limited", "provider-error", "out-of-balance"]
  }
}

"""#),
        SourceFile(name: "built-in:policies/balanced.tests.json", text: #"""
{
  "kind": "policy-tests",
  "version": 1,
  "policy": "balanced.json",
  "cases": [
    {
      "name": "animate 10 s balances to DashScope China standard",
      "job": {
        "behavior": "animate",
        "duration": "10"
      },
      "expect": {
        "provider": "dashscope-cn",
        "mode": "wan-std",
        "resolution": "720p",
        "cost": {
          "amount": "4.00",
          "currency": "CNY"
        },
        "usd": "0.5624"
      }
    },
    {
      "name": "a 45 s clip goes to APIXO 480p",
      "job": {
        "behavior": "animate",
        "duration": "45"
      },
      "expect": {
        "provider": "apixo",
        "mode": "standard",
        "resolution": "480p",
        "cost": {
          "amount": "1.80",
          "currency": "USD"
        }
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:policies/best-quality.json", text: #"""
{
  "kind": "policy",
  "version": 1,
  "name": "best-quality",
  "description": "The highest quality score among providers wanroute can submit to; equal scores go to the cheaper offer.",
  "objective": "best-quality",
  "constraints": {
    "min_confidence": "third-party",
    "allow_quote_only": false
  },
  "failover": {
    "alternates": 2,
    "on": ["rate-limited", "provider-error", "out-of-balance"]
  }
}

"""#),
        SourceFile(name: "built-in:policies/best-quality.tests.json", text: #"""
{
  "kind": "policy-tests",
  "version": 1,
  "policy": "best-quality.json",
  "cases": [
    {
      "name": "wan-pro scores highest; the cheaper region wins the tie",
      "job": {
        "behavior": "replace",
        "duration": "10"
      },
      "expect": {
        "provider": "dashscope-cn",
        "mode": "wan-pro",
        "resolution": "720p",
        "cost": {
          "amount": "9.00",
          "currency": "CNY"
        },
        "usd": "1.2654"
      }
    },
    {
      "name": "at 480p only APIXO has a price and an adapter",
      "job": {
        "behavior": "replace",
        "duration": "10",
        "resolution": "480p"
      },
      "expect": {
        "provider": "apixo",
        "mode": "standard",
        "resolution": "480p",
        "cost": {
          "amount": "0.40",
          "currency": "USD"
        }
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:policies/cheapest.json", text: #"""
{
  "kind": "policy",
  "version": 1,
  "name": "cheapest",
  "description": "The cheapest offer with a known price anywhere, with or without an adapter: the same choice as the first line of `wanroute quote`. For planning and what-if replays; to execute jobs, use a policy that keeps allow_quote_only false.",
  "objective": "cheapest",
  "constraints": {
    "min_confidence": "third-party",
    "allow_quote_only": true
  },
  "failover": {
    "alternates": 2,
    "on": ["rate-limited", "provider-error", "out-of-balance"]
  }
}

"""#),
        SourceFile(name: "built-in:policies/cheapest.tests.json", text: #"""
{
  "kind": "policy-tests",
  "version": 1,
  "policy": "cheapest.json",
  "cases": [
    {
      "name": "replace 10 s goes to the cheapest published offer anywhere",
      "job": {
        "behavior": "replace",
        "duration": "10"
      },
      "expect": {
        "provider": "runware",
        "mode": "standard",
        "resolution": "480p",
        "cost": {
          "amount": "0.10",
          "currency": "USD"
        }
      }
    },
    {
      "name": "animate at 720p",
      "job": {
        "behavior": "animate",
        "duration": "10",
        "resolution": "720p"
      },
      "expect": {
        "provider": "runware",
        "mode": "standard",
        "resolution": "720p",
        "cost": {
          "amount": "0.212",
          "currency": "USD"
        }
      }
    },
    {
      "name": "wan-pro is only sold by DashScope and Modellix",
      "job": {
        "behavior": "animate",
        "duration": "10",
        "mode": "wan-pro"
      },
      "expect": {
        "provider": "dashscope-cn",
        "mode": "wan-pro",
        "resolution": "720p",
        "cost": {
          "amount": "6.00",
          "currency": "CNY"
        },
        "usd": "0.8436"
      }
    },
    {
      "name": "wan-pro over 30 s has no priced offer",
      "job": {
        "behavior": "animate",
        "duration": "45",
        "mode": "wan-pro"
      },
      "expect": {
        "refused": true,
        "reason_contains": "above DashScope's 30 s limit"
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:policies/fastest.json", text: #"""
{
  "kind": "policy",
  "version": 1,
  "name": "fastest",
  "description": "The offer expected to finish first (queue plus rendering for the job's duration), among providers wanroute can submit to; equal latencies go to the cheaper offer.",
  "objective": "fastest",
  "constraints": {
    "min_confidence": "third-party",
    "allow_quote_only": false
  },
  "failover": {
    "alternates": 2,
    "on": ["rate-limited", "provider-error", "out-of-balance"]
  }
}

"""#),
        SourceFile(name: "built-in:policies/fastest.tests.json", text: #"""
{
  "kind": "policy-tests",
  "version": 1,
  "policy": "fastest.json",
  "cases": [
    {
      "name": "DashScope standard renders fastest; the tie goes to the cheaper region",
      "job": {
        "behavior": "animate",
        "duration": "10"
      },
      "expect": {
        "provider": "dashscope-cn",
        "mode": "wan-std",
        "resolution": "720p",
        "cost": {
          "amount": "4.00",
          "currency": "CNY"
        },
        "usd": "0.5624"
      }
    },
    {
      "name": "over 30 s only APIXO takes the clip",
      "job": {
        "behavior": "animate",
        "duration": "60"
      },
      "expect": {
        "provider": "apixo",
        "mode": "standard",
        "resolution": "480p",
        "cost": {
          "amount": "2.40",
          "currency": "USD"
        }
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:policies/production.json", text: #"""
{
  "kind": "policy",
  "version": 1,
  "name": "production",
  "description": "A studio's production routing: balanced by default, previews as cheap as possible, the film customer's replace jobs on DashScope's pro mode under USD 5, published prices only for customer work, and monthly budgets.",
  "tags": ["customer", "project", "purpose"],
  "objective": {
    "weights": {
      "cost": 0.5,
      "quality": 0.3,
      "latency": 0.2
    }
  },
  "constraints": {
    "min_confidence": "third-party",
    "allow_quote_only": false,
    "min_quality": 55,
    "max_cost": {
      "amount": "10.00",
      "currency": "USD"
    },
    "max_latency_seconds": "7200"
  },
  "prefer": {
    "providers": ["apixo", "dashscope-intl"],
    "rank": "tie-break"
  },
  "rules": [
    {
      "id": "preview",
      "description": "Previews go to the cheapest 480p offer, whoever the customer; no later rule applies.",
      "when": {
        "tags": {
          "purpose": "preview"
        }
      },
      "objective": "cheapest",
      "constraints": {
        "resolutions": {
          "allow": ["480p"]
        }
      },
      "stop": true
    },
    {
      "id": "film-replace",
      "description": "Replace jobs for the film customer render in wan-pro at 720p, at most USD 5 a job.",
      "when": {
        "behavior": "replace",
        "tags": {
          "customer": "film"
        }
      },
      "objective": "cheapest",
      "constraints": {
        "modes": {
          "allow": ["wan-pro"]
        },
        "resolutions": {
          "allow": ["720p"]
        },
        "max_cost": {
          "amount": "5.00",
          "currency": "USD"
        }
      }
    },
    {
      "id": "long-clips",
      "description": "Clips over 30 s avoid the providers that refuse reference videos longer than 30 s.",
      "when": {
        "duration": {
          "gt": "30"
        }
      },
      "constraints": {
        "providers": {
          "deny": ["dashscope-intl", "dashscope-cn", "modellix"]
        }
      }
    },
    {
      "id": "customer-published",
      "description": "Work billed to a customer uses published prices only.",
      "when": {
        "tags": {
          "customer": {
            "exists": true
          }
        }
      },
      "constraints": {
        "min_confidence": "published"
      }
    }
  ],
  "failover": {
    "alternates": 2,
    "on": ["rate-limited", "provider-error", "out-of-balance"]
  },
  "budgets": [
    {
      "id": "studio-monthly",
      "monthly": {
        "amount": "3000.00",
        "currency": "USD"
      }
    },
    {
      "id": "per-customer",
      "tag": "customer",
      "monthly": {
        "amount": "1000.00",
        "currency": "USD"
      }
    },
    {
      "id": "dashscope-intl-monthly",
      "provider": "dashscope-intl",
      "monthly": {
        "amount": "500.00",
        "currency": "USD"
      }
    }
  ]
}

"""#),
        SourceFile(name: "built-in:policies/production.tests.json", text: #"""
{
  "kind": "policy-tests",
  "version": 1,
  "policy": "production.json",
  "cases": [
    {
      "name": "an untagged job is balanced",
      "job": {
        "behavior": "animate",
        "duration": "10"
      },
      "expect": {
        "provider": "dashscope-cn",
        "mode": "wan-std",
        "resolution": "720p",
        "cost": {
          "amount": "4.00",
          "currency": "CNY"
        },
        "usd": "0.5624",
        "rules": []
      }
    },
    {
      "name": "a preview goes to the cheapest 480p offer",
      "job": {
        "behavior": "animate",
        "duration": "3",
        "tags": {
          "purpose": "preview",
          "customer": "film"
        }
      },
      "expect": {
        "provider": "apixo",
        "mode": "standard",
        "resolution": "480p",
        "cost": {
          "amount": "0.20",
          "currency": "USD"
        },
        "rules": [
          "preview"
        ]
      }
    },
    {
      "name": "film replace goes to wan-pro 720p with a published price",
      "job": {
        "behavior": "replace",
        "duration": "12",
        "tags": {
          "customer": "film"
        }
      },
      "expect": {
        "provider": "dashscope-cn",
        "mode": "wan-pro",
        "resolution": "720p",
        "cost": {
          "amount": "10.80",
          "currency": "CNY"
        },
        "usd": "1.51848",
        "rules": [
          "film-replace",
          "customer-published"
        ]
      }
    },
    {
      "name": "film replace over 30 s has nowhere to go",
      "job": {
        "behavior": "replace",
        "duration": "45",
        "tags": {
          "customer": "film"
        }
      },
      "expect": {
        "refused": true,
        "reason_contains": "above DashScope's 30 s limit",
        "rules": [
          "film-replace",
          "long-clips",
          "customer-published"
        ]
      }
    },
    {
      "name": "film replace refused when the customer's budget is nearly spent",
      "job": {
        "behavior": "replace",
        "duration": "20",
        "tags": {
          "customer": "film"
        }
      },
      "spend": {
        "tag:customer=film": "999.00"
      },
      "expect": {
        "refused": true,
        "reason_contains": "budget \"per-customer\"",
        "rules": [
          "film-replace",
          "customer-published"
        ]
      }
    },
    {
      "name": "a long clip avoids the 30 s providers",
      "job": {
        "behavior": "animate",
        "duration": "45"
      },
      "expect": {
        "provider": "apixo",
        "mode": "standard",
        "resolution": "480p",
        "cost": {
          "amount": "1.80",
          "currency": "USD"
        },
        "rules": [
          "long-clips"
        ]
      }
    },
    {
      "name": "customer work uses published prices only",
      "job": {
        "behavior": "animate",
        "duration": "10",
        "tags": {
          "customer": "acme"
        }
      },
      "expect": {
        "provider": "apixo",
        "mode": "standard",
        "resolution": "480p",
        "cost": {
          "amount": "0.40",
          "currency": "USD"
        },
        "rules": [
          "customer-published"
        ]
      }
    },
    {
      "name": "the studio budget refuses everything once spent",
      "job": {
        "behavior": "animate",
        "duration": "10"
      },
      "spend": {
        "total": "2999.90"
      },
      "expect": {
        "refused": true,
        "reason_contains": "budget \"studio-monthly\"",
        "rules": []
      }
    }
  ]
}

"""#),
    ]
}
